// The backends layer's public API.
export {};
