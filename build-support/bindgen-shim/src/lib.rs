//! The subset of the bindgen 0.43 builder API that `ofx_sys` 0.2's build script calls, forwarded to
//! bindgen 0.69. See this crate's Cargo.toml for why it exists.

use std::io;
use std::path::Path;

/// The Rust dialect the bindings target. `ofx_sys` asks for `Nightly`; we generate for the stable
/// dialect of bindgen 0.69 instead, since the OFX headers use nothing that needs nightly and we build
/// on a stable toolchain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RustTarget {
    Nightly,
    Stable,
}

/// Builder with the 0.43 method names.
pub struct Builder {
    inner: upstream::Builder,
}

impl Default for Builder {
    fn default() -> Self {
        Builder { inner: upstream::Builder::default() }
    }
}

/// Same as bindgen 0.43's free function.
pub fn builder() -> Builder {
    Builder::default()
}

impl Builder {
    pub fn clang_arg<T: Into<String>>(self, arg: T) -> Self {
        Builder { inner: self.inner.clang_arg(arg) }
    }

    pub fn header<T: Into<String>>(self, header: T) -> Self {
        Builder { inner: self.inner.header(header) }
    }

    pub fn rust_target(self, _target: RustTarget) -> Self {
        // Both map to bindgen 0.69's newest stable target (its default); see `RustTarget`.
        self
    }

    pub fn rustfmt_bindings(self, _doit: bool) -> Self {
        // Formatting the generated file only matters to people reading it; 0.69 has no direct
        // equivalent switch and `rustfmt` may be absent on build machines, so we skip it.
        Builder { inner: self.inner.formatter(upstream::Formatter::None) }
    }

    /// 0.43 returned `Result<Bindings, ()>`; callers only `expect` it, so any error type with
    /// `Debug` keeps them compiling.
    pub fn generate(self) -> Result<Bindings, upstream::BindgenError> {
        self.inner.generate().map(|inner| Bindings { inner })
    }
}

/// Generated bindings.
pub struct Bindings {
    inner: upstream::Bindings,
}

impl Bindings {
    pub fn write_to_file<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.inner.write_to_file(path)
    }
}
