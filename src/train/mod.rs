//! Training swap models: augmentation, losses, the loop, the preview and loss-curve pictures, and widening a
//! trained model to go on training it with more capacity.

pub mod augment;
pub mod borrow;
pub mod loss;
pub mod loss_curve;
pub mod patchgan;
pub mod preview;
pub mod trainer;
pub mod true_face;
pub mod widen;
