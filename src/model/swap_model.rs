//! A trained swap model: the network plus what the file header says about it (identities, template, training).
//! Saving and loading go through the format of [`super::file`]; loading never panics on a bad file.

use super::file::{self, ModelError, ModelHeader, FORMAT, FORMAT_VERSION};
use super::swapnet::{SwapNet, SwapNetConfig};
use super::weights;
use burn::module::Module;
use crate::pipeline::align::FaceTemplate;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A swap model ready to run.
#[derive(Debug, Clone)]
pub struct SwapModel {
    pub net: SwapNet,
    pub config: SwapNetConfig,
    pub identities: Vec<String>,
    pub template: FaceTemplate,
    /// Free-form training record (iterations, data, date, versions, losses).
    pub training: Value,
}

fn bad(path: &Path, key: &'static str, why: String) -> ModelError {
    ModelError::BadMetadata { path: path.to_owned(), key, why }
}

impl SwapModel {
    /// Loads a model file onto `device`: header checks first, then the network rebuilt from its config and
    /// filled with its weights (every tensor present, float32, the right shape).
    pub fn load(path: &Path, device: &Device) -> Result<SwapModel, ModelError> {
        let header = file::read_header(path)?;
        let config: SwapNetConfig =
            serde_json::from_value(header.config.clone()).map_err(|e| bad(path, "config", e.to_string()))?;
        config.validate().map_err(|why| bad(path, "config", why))?;
        let template: FaceTemplate =
            serde_json::from_value(header.template.clone()).map_err(|e| bad(path, "template", e.to_string()))?;
        if config.identities != header.identities.len() {
            return Err(bad(path, "identities", format!("{} names for a network of {} identities", header.identities.len(), config.identities)));
        }
        check_template(&template).map_err(|why| bad(path, "template", why))?;
        check_dtypes(path, &header)?;
        // Parameters are created lazily: nothing is allocated until weights are loaded into them, so the
        // network the config describes can be sized against the file before any memory is spent on it.
        let net = config.init(device);
        let file_weights: u64 = header.tensors.values().map(|t| (t.end - t.begin) / 4).sum();
        if net.num_params() as u64 != file_weights {
            let why = format!("describes a network of {} weights but the file holds {file_weights}", net.num_params());
            return Err(bad(path, "config", why));
        }
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io { path: path.to_owned(), source })?;
        let net = weights::load_bytes_into(net, bytes, path)
            .map_err(|e| ModelError::NotSafetensors { path: path.to_owned(), why: e.to_string() })?;
        Ok(SwapModel { net, config, identities: header.identities, template, training: header.training })
    }

    /// Writes the model (atomically: a temporary file renamed over `path`).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let io = |source| ModelError::Io { path: path.to_owned(), source };
        let json = |v: &dyn erased::Json| v.to_json();
        let mut store = SafetensorsStore::from_bytes(None)
            .metadata("format", FORMAT)
            .metadata("format_version", FORMAT_VERSION.to_string())
            .metadata("identities", json(&self.identities))
            .metadata("config", json(&self.config))
            .metadata("template", json(&self.template))
            .metadata("training", self.training.to_string());
        self.net.save_into(&mut store).map_err(|e| ModelError::NotSafetensors { path: path.to_owned(), why: e.to_string() })?;
        let bytes = store.get_bytes().map_err(|e| ModelError::NotSafetensors { path: path.to_owned(), why: e.to_string() })?;
        let tmp: PathBuf = path.with_extension("safetensors.partial");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The decoder index of an identity by name.
    pub fn identity_index(&self, name: &str) -> Option<usize> {
        self.identities.iter().position(|n| n == name)
    }
}

/// The template places the crop's five alignment points: they must lie inside the crop, and the eyes apart
/// (coincident points would make every alignment singular).
fn check_template(t: &FaceTemplate) -> Result<(), String> {
    if t.points.iter().flatten().any(|v| !(0.0..=1.0).contains(v)) {
        return Err(format!("points {:?} must lie inside the crop (0 to 1)", t.points));
    }
    let [[ax, ay], [bx, by], ..] = t.points;
    if (ax - bx).hypot(ay - by) < 1e-3 {
        return Err("the two eye points coincide".into());
    }
    Ok(())
}

fn check_dtypes(path: &Path, header: &ModelHeader) -> Result<(), ModelError> {
    match header.tensors.iter().find(|(_, t)| t.dtype != "F32") {
        Some((name, t)) => Err(bad(path, "tensors", format!("tensor {name} is {}, the network runs in F32", t.dtype))),
        None => Ok(()),
    }
}

/// JSON text of serde values (a tiny trait so `save` can list heterogeneous fields in one chain).
mod erased {
    pub trait Json {
        fn to_json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            // Serialising plain data structs to a string cannot fail.
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Tensor, TensorData};

    pub(super) fn tiny_for_tests(device: &Device) -> SwapModel {
        tiny(device)
    }

    fn tiny(device: &Device) -> SwapModel {
        let config = SwapNetConfig::new(32, 2).with_encoder_channels(4).with_decoder_channels(4).with_bottleneck(8);
        SwapModel {
            net: config.init(device),
            config,
            identities: vec!["s1".into(), "scientist".into()],
            template: FaceTemplate::default(),
            training: serde_json::json!({"iterations": 0}),
        }
    }

    fn outputs(m: &SwapModel, device: &Device) -> Vec<f32> {
        let x: Vec<f32> = (0..3 * 32 * 32).map(|i| (i % 97) as f32 / 97.0).collect();
        let x = Tensor::<4>::from_data(TensorData::new(x, [1, 3, 32, 32]), device);
        let out = m.net.forward(x, 1);
        let mut v: Vec<f32> = out.rgb.try_into_data().unwrap().try_into_vec().unwrap();
        v.extend(out.mask.try_into_data().unwrap().try_into_vec::<f32>().unwrap());
        v
    }

    #[test]
    fn save_load_round_trip_is_bit_exact() {
        let device = crate::device::cpu();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let m = tiny(&device);
        m.save(&path).unwrap();
        let back = SwapModel::load(&path, &device).unwrap();
        assert_eq!(back.identities, m.identities);
        assert_eq!(back.config, m.config);
        assert_eq!(back.template, m.template);
        let (a, b) = (outputs(&m, &device), outputs(&back, &device));
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "outputs differ after a round trip");
    }

    #[test]
    fn mismatched_and_damaged_files_are_errors() {
        let device = crate::device::cpu();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        tiny(&device).save(&path).unwrap();
        let good = std::fs::read(&path).unwrap();
        // Truncated in the weights.
        std::fs::write(&path, &good[..good.len() - 100]).unwrap();
        assert!(matches!(SwapModel::load(&path, &device), Err(ModelError::Truncated { .. })));
        // Header says 3 identities but names 2: patch the config text in place (same length keeps offsets).
        // (Bytes, not text: the weights are not UTF-8, and a lossy conversion would change their length.)
        let needle = b"\\\"identities\\\":2";
        let at = good.windows(needle.len()).position(|w| w == needle).expect("config text not found in the header");
        let mut patched = good.clone();
        patched[at + needle.len() - 1] = b'3';
        std::fs::write(&path, &patched).unwrap();
        assert!(matches!(SwapModel::load(&path, &device), Err(ModelError::BadMetadata { key: "identities", .. })));
        // The detector's weights are a foreign file.
        let det = crate::model::pretrained::repo_models_dir().join(crate::model::pretrained::BLAZEFACE_FILE);
        assert!(matches!(SwapModel::load(&det, &device), Err(ModelError::Foreign { .. })));
    }
}

#[cfg(test)]
mod header_edits {
    use super::*;

    /// The tiny model's file with one JSON metadata entry edited (the header is rewritten, the data kept).
    fn with_meta_edit(key: &str, edit: impl FnOnce(&mut Value)) -> (tempfile::TempDir, PathBuf) {
        let device = crate::device::cpu();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        super::tests::tiny_for_tests(&device).save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let mut header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        let mut entry: Value = serde_json::from_str(header["__metadata__"][key].as_str().unwrap()).unwrap();
        edit(&mut entry);
        header["__metadata__"][key] = Value::String(entry.to_string());
        let h = serde_json::to_vec(&header).unwrap();
        let out = [(h.len() as u64).to_le_bytes().to_vec(), h, bytes[8 + n..].to_vec()].concat();
        std::fs::write(&path, out).unwrap();
        (dir, path)
    }

    fn load_err(key: &str, edit: impl FnOnce(&mut Value)) -> ModelError {
        let (_dir, path) = with_meta_edit(key, edit);
        SwapModel::load(&path, &crate::device::cpu()).expect_err("must be refused")
    }

    /// Found reviewing the loader for its fuzz target: the network was built from the header's config before
    /// anything compared it with the weights the file holds, and the config had no upper bounds.
    #[test]
    fn config_that_does_not_fit_the_weights_is_refused_before_loading() {
        let wider = load_err("config", |c| c["bottleneck"] = 9.into());
        assert!(matches!(&wider, ModelError::BadMetadata { key: "config", why, .. } if why.contains("weights")), "{wider}");
        let huge = load_err("config", |c| c["bottleneck"] = 1_000_000_000_000u64.into());
        assert!(matches!(&huge, ModelError::BadMetadata { key: "config", why, .. } if why.contains("more than")), "{huge}");
        // The unedited file loads (the edit helper itself is sound).
        let (_dir, path) = with_meta_edit("config", |_| {});
        SwapModel::load(&path, &crate::device::cpu()).unwrap();
    }

    /// Found reviewing the loader for its fuzz target: template points were not checked, so a damaged file
    /// could align every face with a singular or infinite transform.
    #[test]
    fn template_outside_the_crop_or_degenerate_is_refused() {
        let edits: Vec<(&str, Box<dyn FnOnce(&mut Value)>)> = vec![
            ("outside", Box::new(|t| t["points"][0][0] = 1e30.into())),
            ("negative", Box::new(|t| t["points"][4][1] = (-0.5).into())),
            ("coincident eyes", Box::new(|t| t["points"][1] = t["points"][0].clone())),
        ];
        for (what, edit) in edits {
            let err = load_err("template", edit);
            assert!(matches!(err, ModelError::BadMetadata { key: "template", .. }), "{what}: {err}");
        }
    }
}

#[cfg(test)]
mod corrupted_files {
    use super::*;
    use crate::train::augment::Rng;

    /// Truncations and bit flips all over a real model file: every load returns (Ok or a clear Err), none
    /// panics or aborts. Short version of the fuzzing the reliability issue asks for; 300 cases, deterministic.
    #[test]
    fn truncated_and_bit_flipped_models_never_panic() {
        let device = crate::device::cpu();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let config = SwapNetConfig::new(32, 2).with_encoder_channels(4).with_decoder_channels(4).with_bottleneck(8);
        let model = SwapModel {
            net: config.init(&device),
            config,
            identities: vec!["a".into(), "b".into()],
            template: FaceTemplate::default(),
            training: serde_json::json!({}),
        };
        model.save(&path).unwrap();
        let good = std::fs::read(&path).unwrap();
        let header_end = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
        let mut rng = Rng::new(3);
        let bad = dir.path().join("bad.safetensors");
        let (mut ok, mut err) = (0, 0);
        for case in 0..300 {
            let mut bytes = good.clone();
            match case % 3 {
                0 => bytes.truncate(rng.below(good.len())),
                // Flips concentrated on the header, where the structure lives.
                1 => {
                    let at = rng.below(header_end);
                    bytes[at] ^= 1 << rng.below(8);
                }
                _ => {
                    let at = rng.below(good.len());
                    bytes[at] = rng.below(256) as u8;
                }
            }
            std::fs::write(&bad, &bytes).unwrap();
            let result = std::panic::catch_unwind(|| SwapModel::load(&bad, &device).map(|_| ()));
            match result {
                Ok(Ok(())) => ok += 1,
                Ok(Err(e)) => {
                    assert!(!e.to_string().is_empty());
                    err += 1
                }
                Err(_) => panic!("case {case}: loading panicked"),
            }
        }
        eprintln!("corrupted model files: {ok} loaded (damage in weight values), {err} refused with an error");
        assert!(err > 100);
    }
}
