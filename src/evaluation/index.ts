// The evaluation layer's public API.
export {};
