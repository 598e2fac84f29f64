//! The node's parameter table: every parameter the host shows, in page order.
//!
//! Script names are FROZEN once shipped: hosts save them in project files and render-farm scripts set them
//! by name. Add new parameters; never rename or repurpose one. Labels and hints may improve freely (the hint
//! is the user documentation: it shows as the tooltip).

use crate::pipeline::analysis;

/// The page that holds every parameter.
pub const PAGE: &str = "Controls";
pub const PAGE_LABEL: &str = "Controls";

/// Script names, used by describe, instance and settings alike.
pub mod name {
    pub const MODEL: &str = "model";
    pub const IDENTITY: &str = "identity";
    pub const IDENTITY_NAME: &str = "identityName";
    pub const BLEND: &str = "blend";
    pub const OUTPUT: &str = "output";
    pub const MASK_IN_ALPHA: &str = "maskInAlpha";
    pub const MASK_ERODE: &str = "maskErode";
    pub const MASK_FEATHER: &str = "maskFeather";
    pub const MASK_SOURCE: &str = "maskSource";
    pub const COLOUR_TRANSFER: &str = "colourTransfer";
    pub const FACE_SELECTION: &str = "faceSelection";
    pub const FACE_POINT: &str = "facePoint";
    pub const DETECTION_THRESHOLD: &str = "detectionThreshold";
    pub const TEMPORAL_SMOOTHING: &str = "temporalSmoothing";
    pub const DEVICE: &str = "device";
    pub const SMALLEST_FACE: &str = "smallestFace";
}

/// A group (collapsible section) of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
}

pub const GROUP_MODEL: Group =
    Group { name: "modelGroup", label: "Model", hint: "Which swap model to use and which identity to put on the faces." };
pub const GROUP_OUTPUT: Group =
    Group { name: "outputGroup", label: "Output", hint: "How strongly the swap is applied and what the node outputs." };
pub const GROUP_MASK: Group =
    Group { name: "maskGroup", label: "Mask", hint: "Shape of the face mask in frame pixels." };
pub const GROUP_FACES: Group =
    Group { name: "facesGroup", label: "Faces", hint: "Which faces are found and swapped, and how they are tracked." };
pub const GROUP_ENGINE: Group =
    Group { name: "engineGroup", label: "Engine", hint: "Where the networks run." };

pub const GROUPS: [Group; 5] = [GROUP_MODEL, GROUP_OUTPUT, GROUP_MASK, GROUP_FACES, GROUP_ENGINE];

/// A choice option: a stable id (what settings match on) and the label the user sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChoiceOption {
    pub id: &'static str,
    pub label: &'static str,
}

/// How a double parameter is interpreted by the host (affects UI and scaling).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DoubleKind {
    Plain,
    /// A size in pixels of the full-resolution frame (hosts may show it scaled with proxies).
    PixelSize,
}

/// The type, default and range of a parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    FilePath { default: &'static str },
    /// A plain string the user does not normally see (a secret param), used for persisted state.
    HiddenString { default: &'static str },
    Choice { options: &'static [ChoiceOption], default: usize },
    Bool { default: bool },
    Int { default: i32, min: i32, max: i32, display_max: i32 },
    Double { default: f64, min: f64, max: f64, display_min: f64, display_max: f64, kind: DoubleKind },
    /// A point in normalised frame coordinates (0,0 bottom-left, 1,1 top-right), with an on-screen handle.
    Point { default: (f64, f64) },
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub group: Group,
    pub animates: bool,
    pub kind: Kind,
}

pub const OUTPUT_OPTIONS: [ChoiceOption; 4] = [
    ChoiceOption { id: "composite", label: "Composite" },
    ChoiceOption { id: "swappedFace", label: "Swapped Face Only" },
    ChoiceOption { id: "maskOnly", label: "Mask Only" },
    // Appended: hosts store the option's index, so options are only ever added at the end.
    ChoiceOption { id: "analysis", label: "Face Analysis" },
];

pub const COLOUR_TRANSFER_OPTIONS: [ChoiceOption; 3] = [
    ChoiceOption { id: "reinhardLab", label: "Reinhard (Lab statistics)" },
    ChoiceOption { id: "meanStdRgb", label: "Mean/Std (RGB)" },
    ChoiceOption { id: "none", label: "None" },
];

pub const MASK_SOURCE_OPTIONS: [ChoiceOption; 3] = [
    ChoiceOption { id: "learnedInHull", label: "Learned within Hull" },
    ChoiceOption { id: "hull", label: "Landmark Hull" },
    ChoiceOption { id: "learned", label: "Learned" },
];

pub const FACE_SELECTION_OPTIONS: [ChoiceOption; 3] = [
    ChoiceOption { id: "largest", label: "Largest Face" },
    ChoiceOption { id: "all", label: "All Faces" },
    ChoiceOption { id: "nearestPoint", label: "Nearest to Point" },
];

pub const DEVICE_OPTIONS: [ChoiceOption; 3] = [
    ChoiceOption { id: "auto", label: "Auto" },
    ChoiceOption { id: "gpu", label: "GPU" },
    ChoiceOption { id: "cpu", label: "CPU" },
];

/// Shown in the identity choice until a model provides names.
pub const NO_IDENTITY_OPTION: ChoiceOption = ChoiceOption { id: "", label: "(load a model)" };
pub const IDENTITY_PLACEHOLDER: [ChoiceOption; 1] = [NO_IDENTITY_OPTION];

/// Every parameter, in the order the page shows them.
pub const PARAMS: [ParamSpec; 16] = [
    ParamSpec {
        name: name::MODEL,
        label: "Model File",
        hint: "Path to a swap model (.safetensors) trained with `faceswap train`. Its identities appear in \
               Identity. Use a path every render node can read; the node passes the source through and shows \
               a message when the file is missing or unreadable.",
        group: GROUP_MODEL,
        animates: false,
        kind: Kind::FilePath { default: "" },
    },
    ParamSpec {
        name: name::IDENTITY,
        label: "Identity",
        hint: "The face to put onto the faces in the shot, by name, from the identities stored in the model. \
               The choice is remembered by name, so it survives retraining or reordering the model.",
        group: GROUP_MODEL,
        animates: false,
        kind: Kind::Choice { options: &IDENTITY_PLACEHOLDER, default: 0 },
    },
    ParamSpec {
        name: name::IDENTITY_NAME,
        label: "Identity Name",
        hint: "The chosen identity's name as stored in the project. Set by the Identity menu; render farm \
               scripts may set it directly.",
        group: GROUP_MODEL,
        animates: false,
        kind: Kind::HiddenString { default: "" },
    },
    ParamSpec {
        name: name::BLEND,
        label: "Blend",
        hint: "Strength of the swap: 0 leaves the plate untouched, 1 applies the swapped face fully inside the \
               mask. Keyframe it to fade the swap in or out.",
        group: GROUP_OUTPUT,
        animates: true,
        kind: Kind::Double { default: 1.0, min: 0.0, max: 1.0, display_min: 0.0, display_max: 1.0, kind: DoubleKind::Plain },
    },
    ParamSpec {
        name: name::OUTPUT,
        label: "Output",
        hint: "Composite: the plate with the swapped face. Swapped Face Only: the swapped face premultiplied by \
               the mask. Mask Only: the face mask in every channel. Face Analysis: the plate with what the face \
               analysis found, no swap (works without a model): each detected face's box, green when Faces \
               to Swap picks it and red when not, its landmarks after Temporal Smoothing, and in yellow the \
               square the model's crop is taken from.",
        group: GROUP_OUTPUT,
        animates: false,
        kind: Kind::Choice { options: &OUTPUT_OPTIONS, default: 0 },
    },
    ParamSpec {
        name: name::MASK_IN_ALPHA,
        label: "Mask in Alpha",
        hint: "Write the face mask (after erode and feather, before Blend) into the output's alpha channel. \
               Hosts with multi-plane support also get it as the FaceMask plane.",
        group: GROUP_OUTPUT,
        animates: false,
        kind: Kind::Bool { default: false },
    },
    ParamSpec {
        name: name::MASK_ERODE,
        label: "Mask Erode",
        hint: "Shrinks the face mask by this many pixels of the full-resolution frame before feathering; \
               negative values grow it.",
        group: GROUP_MASK,
        animates: true,
        kind: Kind::Double { default: 2.0, min: -100.0, max: 100.0, display_min: -20.0, display_max: 20.0, kind: DoubleKind::PixelSize },
    },
    ParamSpec {
        name: name::MASK_FEATHER,
        label: "Mask Feather",
        hint: "Softens the mask edge over about this many pixels of the full-resolution frame.",
        group: GROUP_MASK,
        animates: true,
        kind: Kind::Double { default: 8.0, min: 0.0, max: 500.0, display_min: 0.0, display_max: 50.0, kind: DoubleKind::PixelSize },
    },
    ParamSpec {
        name: name::MASK_SOURCE,
        label: "Mask Source",
        hint: "Which mask the swap is blended through, before Mask Erode and Mask Feather. Learned within Hull \
               (default): the model's own mask, kept inside the plate face's landmark hull (grown a little), so \
               nothing the network smears beyond the face gets in. Landmark Hull: the hull alone, following the \
               plate's jaw and brow whatever the model's mask says (steadiest edge; use it when the model's mask \
               flickers or is cut short). Learned: the model's mask alone, the swapped identity's own outline \
               (use it when the new face is wider or its chin longer than the plate's).",
        group: GROUP_MASK,
        animates: false,
        kind: Kind::Choice { options: &MASK_SOURCE_OPTIONS, default: 0 },
    },
    ParamSpec {
        name: name::COLOUR_TRANSFER,
        label: "Colour Transfer",
        hint: "Matches the swapped face's colours to the plate's face before blending. Reinhard matches \
               mean and spread in Lab (robust, good default); Mean/Std does the same per RGB channel; None \
               keeps the network's colours.",
        group: GROUP_OUTPUT,
        animates: false,
        kind: Kind::Choice { options: &COLOUR_TRANSFER_OPTIONS, default: 0 },
    },
    ParamSpec {
        name: name::FACE_SELECTION,
        label: "Faces to Swap",
        hint: "Largest Face swaps only the biggest face found; All Faces swaps every face; Nearest to Point \
               swaps the face closest to Face Point (animate the point to follow a face).",
        group: GROUP_FACES,
        animates: false,
        kind: Kind::Choice { options: &FACE_SELECTION_OPTIONS, default: 0 },
    },
    ParamSpec {
        name: name::FACE_POINT,
        label: "Face Point",
        hint: "With Faces to Swap set to Nearest to Point, the face whose centre is closest to this point is \
               swapped.",
        group: GROUP_FACES,
        animates: true,
        kind: Kind::Point { default: (0.5, 0.5) },
    },
    ParamSpec {
        name: name::DETECTION_THRESHOLD,
        label: "Detection Threshold",
        hint: "Confidence a face detection needs to be used. Lower it when faces are missed, raise it when \
               non-faces are swapped.",
        group: GROUP_FACES,
        animates: true,
        kind: Kind::Double { default: analysis::DEFAULT_THRESHOLD as f64, min: 0.05, max: 0.99, display_min: 0.1, display_max: 0.95, kind: DoubleKind::Plain },
    },
    ParamSpec {
        name: name::SMALLEST_FACE,
        label: "Smallest Face",
        hint: "The smallest face searched for, in percent of the frame's height. Raising it on close-ups skips \
               the detector's finest tiles, which are most of its work: at 10% it looks at 7 tiles of a 16:9 \
               frame instead of 88. Faces smaller than this may be missed. Faces under about 1.5% of the frame's width (and \
               30 px) are never searched for.",
        group: GROUP_FACES,
        animates: true,
        kind: Kind::Double {
            // Percent in the parameter, a fraction in the pipeline (3.0 exactly: the f32 product rounds to it).
            default: (analysis::DEFAULT_SMALLEST_FACE * 100.0) as f64,
            min: 0.0,
            max: 100.0,
            display_min: 1.0,
            display_max: 30.0,
            kind: DoubleKind::Plain,
        },
    },
    ParamSpec {
        name: name::TEMPORAL_SMOOTHING,
        label: "Temporal Smoothing",
        hint: "Steadies the face crop by averaging landmarks over this many frames before and after the \
               current one (0 = off). Each frame still renders on its own, so render farms may split the shot \
               anywhere.",
        group: GROUP_FACES,
        animates: false,
        kind: Kind::Int { default: 2, min: 0, max: 12, display_max: 6 },
    },
    ParamSpec {
        name: name::DEVICE,
        label: "Device",
        hint: "Auto runs the networks on the GPU when the machine has a real one and on the CPU otherwise; GPU \
               and CPU force one (GPU falls back to CPU with a message when no GPU is usable). Results match \
               closely but not bit for bit across devices: render a shot on one kind of machine.",
        group: GROUP_ENGINE,
        animates: false,
        kind: Kind::Choice { options: &DEVICE_OPTIONS, default: 0 },
    },
];

/// Looks a parameter up by script name.
pub fn spec(name: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn script_names_are_unique_camel_case() {
        let mut seen = HashSet::new();
        for p in PARAMS.iter() {
            assert!(seen.insert(p.name), "duplicate {}", p.name);
            assert!(p.name.chars().next().is_some_and(|c| c.is_ascii_lowercase()), "{}", p.name);
            assert!(p.name.chars().all(|c| c.is_ascii_alphanumeric()), "{}", p.name);
            assert!(p.hint.ends_with('.'), "hint of {} should be a full sentence", p.name);
        }
        for g in GROUPS.iter() {
            assert!(seen.insert(g.name), "group name {} clashes", g.name);
        }
    }

    #[test]
    fn defaults_lie_in_range() {
        for p in PARAMS.iter() {
            match p.kind {
                Kind::Double { default, min, max, display_min, display_max, .. } => {
                    assert!(min <= display_min && display_min <= default && default <= display_max && display_max <= max, "{}", p.name);
                }
                Kind::Int { default, min, max, display_max } => {
                    assert!(min <= default && default <= display_max && display_max <= max, "{}", p.name);
                }
                Kind::Choice { options, default } => assert!(default < options.len(), "{}", p.name),
                _ => {}
            }
        }
    }

    /// Regression guard for the frozen names: changing this list breaks saved projects.
    #[test]
    fn frozen_script_names() {
        let names: Vec<&str> = PARAMS.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "model", "identity", "identityName", "blend", "output", "maskInAlpha", "maskErode", "maskFeather",
                "maskSource", "colourTransfer", "faceSelection", "facePoint", "detectionThreshold", "smallestFace", "temporalSmoothing",
                "device"
            ]
        );
    }
}
