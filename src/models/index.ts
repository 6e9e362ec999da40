// The models layer's public API.
export {};
