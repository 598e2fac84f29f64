//! Restricts the plug-in binary's exports to the two OFX entry points (see plugin-bundle/exports.map).

fn main() {
    let map = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin-bundle/exports.map");
    println!("cargo:rerun-if-changed={}", map.display());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", map.display());
        // The version script cannot hide the __start_/__stop_ symbols GNU ld generates for linkme's sections
        // (Burn's dependencies use linkme); this flag does (binutils >= 2.37).
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,start-stop-visibility=hidden");
    }
}
