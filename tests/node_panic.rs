//! A panic inside render must come back as kOfxStatFailed with a message, and the host must live on.
//! Its own test binary: the switch is a process-wide environment variable.

mod support;

use faceswap_ofx::node::render::TEST_PANIC_ENV;
use ofx_host::{Components, Context, Depth, RenderRequest, Value};

const STAT_FAILED: i32 = 1;

#[test]
fn panic_in_render_is_caught_and_reported() {
    let bundle = support::load();
    let source = support::sample(&support::astronaut(), 16, 16, Components::Rgba, Depth::F32);
    let mut inst = bundle.create_instance(Context::Filter).unwrap();
    inst.set_param("model", Value::String("/nonexistent.safetensors".into())).unwrap();
    // This binary holds this one test, so no other thread reads the environment meanwhile.
    std::env::set_var(TEST_PANIC_ENV, "1");
    let result = inst.render(&RenderRequest::new(0.0, &source)).unwrap();
    std::env::remove_var(TEST_PANIC_ENV);
    assert_eq!(result.status, STAT_FAILED);
    let msg = inst.persistent_message().expect("message after the panic");
    assert!(msg.text.contains("internal error"), "{}", msg.text);
    // The host process and the instance are still usable.
    let again = inst.render(&RenderRequest::new(1.0, &source)).unwrap();
    assert!(again.ok());
}
