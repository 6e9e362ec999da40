// The data layer's public API.
export {};
