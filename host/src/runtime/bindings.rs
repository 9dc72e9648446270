//! Host bindings of the WIT world `autopack:provider/provider`.

#![allow(missing_docs, clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "provider",
    imports: { default: trappable },
    exports: { default: async },
});
