// What the package's modules need of the worker's generated types. src/env.d.ts itself cannot
// be part of the package build: it names the whole worker (src/index.ts) as its main module.
declare module '*.wasm' {
  const value: WebAssembly.Module;
  export default value;
}
