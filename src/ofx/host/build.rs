//! Compiles the C shim that implements the C-variadic OFX entry points (stable Rust cannot define
//! variadic functions; see `csrc/varargs.c`), and the mock plug-in the integration tests load
//! (`tests/mock/mock_plugin.c`, built as a shared object; its path is `OFXHOST_MOCK_PLUGIN`).
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=csrc/varargs.c");
    println!("cargo:rerun-if-changed=tests/mock/mock_plugin.c");
    cc::Build::new().file("csrc/varargs.c").warnings(true).extra_warnings(true).compile("ofxhost_varargs");

    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mock = out.join("mock_plugin.ofx");
    let compiler = cc::Build::new().get_compiler();
    let mut cmd: Command = compiler.to_command();
    cmd.args(["-shared", "-fPIC", "-O1", "-Wall", "-o"]).arg(&mock).arg("tests/mock/mock_plugin.c");
    let status = cmd.status().expect("running the C compiler for the mock plug-in");
    assert!(status.success(), "compiling tests/mock/mock_plugin.c failed");
    println!("cargo:rustc-env=OFXHOST_MOCK_PLUGIN={}", mock.display());
}
