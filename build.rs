//! Restricts the plug-in binary's exports to the two OFX entry points (see plugin-bundle/exports.map).

fn main() {
    // Read at run time, not with `env!`: cargo reuses a compiled build script across clones of the repo that
    // share a target folder (CI clones elsewhere), and a path baked in at compile time would point at a clone
    // that may be gone.
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for build scripts");
    let map = std::path::Path::new(&dir).join("plugin-bundle/exports.map");
    println!("cargo:rerun-if-changed={}", map.display());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", map.display());
        // The version script cannot hide the __start_/__stop_ symbols GNU ld generates for linkme's sections
        // (Burn's dependencies use linkme); this flag does (binutils >= 2.37).
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,start-stop-visibility=hidden");
    }
}
