//! Host-side bindings for `pqap:strategy@0.1.0`, generated from `wit/`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "strategy",
    additional_derives: [PartialEq, Eq],
});

pub use self::exports::pqap::strategy::callbacks;
pub use self::pqap::strategy::host::LogLevel;
pub use self::pqap::strategy::types;
