// The training layer's public API.
export {};
