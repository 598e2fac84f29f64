//! Training swap models: augmentation, losses, the loop, and the preview and loss-curve pictures.

pub mod augment;
pub mod loss;
pub mod loss_curve;
pub mod patchgan;
pub mod preview;
pub mod trainer;
pub mod true_face;
