// Placeholder entry so the build has every entry it names; the engine worker protocol lands with the extension.
export {};
