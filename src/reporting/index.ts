// The reporting layer's public API.
export {};
