//! The training loop: every step trains each identity on a batch of its own augmented faces (shared encoder,
//! its own decoder or inter block), sums the losses, and takes one Adam step.

use super::augment::{augment, Rng};
use super::borrow::{borrow_colour, borrow_context, borrow_frontal, borrow_pose, turn, FACEMESH_POINTS, FRONTAL_TURN};
use super::loss;
use super::patchgan::{bce_logits, PatchDiscriminator, PatchDiscriminatorConfig};
use super::true_face::{classification_loss, confusion_loss, CodeDiscriminator, CodeDiscriminatorConfig};
use crate::faceset::{FaceSample, FaceSet, FaceSetError};
use crate::model::swap_model::SwapModel;
use crate::model::swapnet::{Arch, SwapNet, SwapNetConfig};
use crate::pipeline::align::FaceTemplate;
use burn::module::{ModuleMapper, Param, ParamId};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::prelude::*;
use burn::tensor::TensorData;
use std::borrow::Cow;

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainSettings {
    pub net: SwapNetConfig,
    pub batch: usize,
    pub learning_rate: f64,
    pub seed: u64,
    /// Weight of the PatchGAN term in the generator's loss; 0 trains without a discriminator (the default).
    pub gan_weight: f32,
    /// Weight of the code discriminator's confusion term in the encoder's loss ([`super::true_face`]);
    /// 0 trains without one (the default). `Df` networks only.
    pub true_face: f32,
}

/// A training run in progress.
pub struct Trainer {
    net: SwapNet,
    optim: ModuleOptimizer,
    settings: TrainSettings,
    /// Every face of every identity, loaded once at the training resolution.
    faces: Vec<Vec<FaceSample>>,
    pub identities: Vec<String>,
    pub template: FaceTemplate,
    rng: Rng,
    device: Device,
    /// Iterations done (including those of a resumed model).
    pub iteration: u64,
    /// (iteration, loss per identity).
    pub history: Vec<(u64, Vec<f32>)>,
    /// The discriminator and its own Adam, when `gan_weight > 0`.
    gan: Option<(PatchDiscriminator, ModuleOptimizer)>,
    /// The discriminator's loss at the last step (real and reconstructed patches; 2·ln 2 ≈ 1.39 = guessing).
    pub discriminator_loss: Option<f32>,
    /// The code discriminator and its own Adam, when `true_face > 0`.
    codes: Option<(CodeDiscriminator, ModuleOptimizer)>,
    /// The code discriminator's loss at the last step (ln N = guessing among N identities).
    pub code_discriminator_loss: Option<f32>,
    /// The resumed model's training record (its widenings, anything a tool added), which this run's notes
    /// update at every save; empty for a new model. Its iteration count, history and optimizer marker are
    /// this run's to write.
    record: serde_json::Map<String, serde_json::Value>,
    /// Iterations of this run over which the swap network's learning rate ramps up linearly (0 = none): see
    /// [`Trainer::learning_rate`].
    pub warmup: u64,
    /// Probability that a training face borrows another identity's pose ([`Trainer::set_pose_borrowing`]).
    pose_borrowing: f32,
    /// Probability that a training face takes another identity's colour ([`Trainer::set_colour_borrowing`]).
    colour_borrowing: f32,
    /// Probability that a turned training face is made frontal ([`Trainer::set_frontal_borrowing`]), and for
    /// each identity the indices of its frontal faces, which lend their pose (empty while it is off).
    frontal_borrowing: f32,
    frontal: Vec<Vec<usize>>,
    /// Probability that a training face takes another identity's surroundings ([`Trainer::set_context_borrowing`]).
    context_borrowing: f32,
    /// The iteration this run started at.
    start: u64,
}

impl Trainer {
    /// Starts from scratch, or from `resume` (a model of the same identities and configuration).
    pub fn new(sets: &[FaceSet], settings: TrainSettings, device: &Device, resume: Option<SwapModel>) -> Result<Trainer, String> {
        settings.net.validate()?;
        if sets.len() != settings.net.identities {
            return Err(format!("{} face sets for {} identities", sets.len(), settings.net.identities));
        }
        let template = sets[0].info.template.clone();
        if let Some(s) = sets.iter().find(|s| s.info.template != template) {
            return Err(format!("{} was aligned with another face template", s.dir.display()));
        }
        let res = settings.net.resolution;
        let faces = sets
            .iter()
            .map(|s| (0..s.items.len()).map(|i| s.load(i, res)).collect::<Result<Vec<_>, FaceSetError>>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let identities: Vec<String> = sets.iter().map(|s| s.info.identity.clone()).collect();
        let ad = device.clone().autodiff();
        device.seed(settings.seed);
        let mut record = match resume.as_ref().map(|m| &m.training) {
            Some(serde_json::Value::Object(map)) => map.clone(),
            _ => Default::default(),
        };
        for key in ["iterations", "history", "optimizer_iteration"] {
            record.remove(key);
        }
        let (net, iteration, history) = match resume {
            Some(m) => {
                if m.config.identities < settings.net.identities
                    && m.config == (SwapNetConfig { identities: m.config.identities, ..settings.net.clone() })
                {
                    return Err(format!(
                        "the model to resume has {} identities ({}) and this run {} face sets: grow it first with \
                         `faceswap widen --add-identity NAME`, then resume with its identities' sets in its order",
                        m.config.identities,
                        m.identities.join(", "),
                        settings.net.identities
                    ));
                }
                if m.config != settings.net {
                    return Err(format!("the model to resume is {}; this run asks for {}: give its widths and arch", m.config.summary(), settings.net.summary()));
                }
                if m.identities != identities {
                    return Err(format!("the model to resume has identities {:?}; these sets are {:?} (same sets, same order)", m.identities, identities));
                }
                let it = m.training.get("iterations").and_then(|v| v.as_u64()).unwrap_or(0);
                let hist = serde_json::from_value(m.training.get("history").cloned().unwrap_or_default()).unwrap_or_default();
                // `fork`, not `to_device` (a moved module is an intermediate of the autodiff graph, not a leaf);
                // then gradients and training mode switched on explicitly: a model loaded for inference has
                // neither, and without them the first `backward` panics (`fork` alone, or with
                // `set_require_grad`, still did: see the regression test below).
                (m.net.fork(&ad).set_require_grad(true).train(), it, hist)
            }
            None => (settings.net.init(&ad), 0, Vec::new()),
        };
        if !(settings.gan_weight >= 0.0 && settings.gan_weight.is_finite()) {
            return Err(format!("the GAN weight must be 0 or more, not {}", settings.gan_weight));
        }
        if !(settings.true_face >= 0.0 && settings.true_face.is_finite()) {
            return Err(format!("the true-face weight must be 0 or more, not {}", settings.true_face));
        }
        if settings.true_face > 0.0 && settings.net.arch != Arch::Df {
            // LIAE's latent carries the identity by design (its per-identity inter blocks): confusing it would
            // undo the architecture. DeepFaceLab offers true face for DF only, for the same reason.
            return Err("--true-face needs the df architecture (LIAE's latent holds the identity on purpose)".into());
        }
        // The discriminators are not saved with the model: a resumed run starts them afresh.
        let gan = (settings.gan_weight > 0.0).then(|| (PatchDiscriminatorConfig::new().with_channels(settings.net.encoder_channels.max(16)).init(&ad), adam()));
        let codes = (settings.true_face > 0.0).then(|| {
            let channels = settings.net.latent_channels();
            (CodeDiscriminatorConfig::new(channels, settings.net.identities).with_channels(channels.min(256)).init(&ad), adam())
        });
        Ok(Trainer {
            gan,
            discriminator_loss: None,
            codes,
            code_discriminator_loss: None,
            net: net.map(&mut StableParamIds::default()),
            optim: adam(),
            rng: Rng::new(settings.seed),
            settings,
            faces,
            identities,
            template,
            device: ad,
            iteration,
            start: iteration,
            history,
            record,
            warmup: 0,
            pose_borrowing: 0.0,
            colour_borrowing: 0.0,
            frontal_borrowing: 0.0,
            frontal: Vec::new(),
            context_borrowing: 0.0,
        })
    }

    fn batch(&mut self, identity: usize) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
        let res = self.settings.net.resolution;
        let n = self.settings.batch;
        let (mut input, mut target, mut mask) = (Vec::new(), Vec::new(), Vec::new());
        let others = self.faces.len() - 1;
        for _ in 0..n {
            let set = &self.faces[identity];
            let mut face = Cow::Borrowed(&set[self.rng.below(set.len())]);
            // With probability p, a random other identity. No random draw for a borrowing that is off: batches
            // (and so runs) stay what they were without it.
            let lender = |p: f32, rng: &mut Rng| {
                (p > 0.0 && others > 0 && rng.uniform(0.0, 1.0) < p).then(|| (identity + 1 + rng.below(others)) % self.faces.len())
            };
            let donor = |p: f32, rng: &mut Rng| lender(p, rng).map(|other| &self.faces[other][rng.below(self.faces[other].len())]);
            // Its donor is one of the other identity's frontal faces, and only a turned face needs it.
            if let Some(other) = lender(self.frontal_borrowing, &mut self.rng) {
                let pool = &self.frontal[other];
                if !pool.is_empty() && turn(&face.landmarks).abs() >= FRONTAL_TURN {
                    let d = &self.faces[other][pool[self.rng.below(pool.len())]];
                    face = Cow::Owned(borrow_frontal(&face, res, &d.landmarks));
                }
            }
            if let Some(d) = donor(self.pose_borrowing, &mut self.rng) {
                let t = self.rng.uniform(0.0, 1.0);
                face = Cow::Owned(borrow_pose(&face, res, &d.landmarks, t));
            }
            if let Some(d) = donor(self.colour_borrowing, &mut self.rng) {
                borrow_colour(face.to_mut(), d);
            }
            // Last, so that a face recoloured to the other identity's light sits in that identity's
            // surroundings, as a swapped face does.
            if let Some(d) = donor(self.context_borrowing, &mut self.rng) {
                borrow_context(face.to_mut(), d, res);
            }
            let ex = augment(&face, res, &mut self.rng);
            input.extend(ex.input);
            target.extend(ex.target);
            mask.extend(ex.mask);
        }
        let t = |v: Vec<f32>, c: usize| Tensor::<4>::from_data(TensorData::new(v, [n, c, res, res]), &self.device);
        (t(input, 3), t(target, 3), t(mask, 1))
    }

    /// One optimisation step over every identity; returns the reconstruction loss of each (without the
    /// optional adversarial terms, which are reported as the discriminators' losses).
    pub fn step(&mut self) -> Result<Vec<f32>, String> {
        // Batches depend only on the seed and the iteration, so a resumed run draws what the uninterrupted one
        // would have.
        self.rng = Rng::new(self.settings.seed ^ self.iteration.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut total: Option<Tensor<1>> = None;
        let mut parts = Vec::new();
        let (mut reals, mut fakes, mut latents) = (Vec::new(), Vec::new(), Vec::new());
        for id in 0..self.identities.len() {
            let (input, target, mask) = self.batch(id);
            let (out, latent) = self.net.forward_with_latent(input, id);
            let reconstruction = loss::reconstruction(out.rgb.clone(), out.mask, target.clone(), mask.clone());
            // What is reported (progress bar, history, loss curve) is the reconstruction alone: adversarial
            // terms hover around constants (ln 2 and the like) and would hide the curve.
            parts.push(reconstruction.clone());
            let mut l = reconstruction;
            if let Some((d, _)) = &self.codes {
                l = l + confusion_loss(d.forward(latent.clone())) * self.settings.true_face;
                latents.push(latent.detach());
            }
            if let Some((d, _)) = &self.gan {
                // The face only, as the reconstruction loss sees it: background zeroed in both.
                let m3 = mask.repeat_dim(1, 3);
                let fake = out.rgb * m3.clone();
                l = l + bce_logits(d.forward(fake.clone()), true) * self.settings.gan_weight;
                reals.push(target * m3);
                fakes.push(fake.detach());
            }
            total = Some(match total {
                Some(t) => t + l,
                None => l,
            });
        }
        let total = total.ok_or("no identities")?;
        let scalar = |t: Tensor<1>| t.detach().try_into_data().ok().and_then(|d| d.try_into_vec::<f32>().ok()).and_then(|v| v.first().copied()).unwrap_or(f32::NAN);
        let values: Vec<f32> = parts.into_iter().map(scalar).collect();
        let sum = scalar(total.clone());
        if values.iter().any(|v| !v.is_finite()) || !sum.is_finite() {
            return Err(format!("the loss became {values:?} (with adversarial terms {sum}) at iteration {}: lower the learning rate", self.iteration));
        }
        let grads = GradientsParams::from_grads(total.backward(), &self.net);
        self.net = self.optim.step(self.learning_rate(), self.net.clone(), grads);
        if let Some((d, mut optim)) = self.gan.take() {
            let (real, fake) = (Tensor::cat(reals, 0), Tensor::cat(fakes, 0));
            let d_loss = bce_logits(d.forward(real), true) + bce_logits(d.forward(fake), false);
            self.discriminator_loss = Some(scalar(d_loss.clone()));
            let grads = GradientsParams::from_grads(d_loss.backward(), &d);
            let d = optim.step(self.settings.learning_rate, d, grads);
            self.gan = Some((d, optim));
        }
        if let Some((d, mut optim)) = self.codes.take() {
            let d_loss = latents.into_iter().enumerate().map(|(id, latent)| classification_loss(d.forward(latent), id)).reduce(|a, b| a + b);
            let d_loss = d_loss.ok_or("no identities")? / self.identities.len() as f32;
            self.code_discriminator_loss = Some(scalar(d_loss.clone()));
            let grads = GradientsParams::from_grads(d_loss.backward(), &d);
            let d = optim.step(self.settings.learning_rate, d, grads);
            self.codes = Some((d, optim));
        }
        self.iteration += 1;
        self.history.push((self.iteration, values.clone()));
        Ok(values)
    }

    /// The swap network's learning rate for the next step: the configured one, ramped up linearly over the
    /// first [`Trainer::warmup`] steps of this run. Adam restarted on a trained model normalises every weight's
    /// first steps to about the learning rate whatever its gradient (its second-moment estimate is one sample),
    /// which shakes a converged model; the ramp keeps those steps small until the estimate has settled. The
    /// discriminators are new in every run and learn at the full rate.
    pub fn learning_rate(&self) -> f64 {
        let step = self.iteration - self.start + 1;
        match self.warmup {
            0 => self.settings.learning_rate,
            w => self.settings.learning_rate * (step.min(w) as f64 / w as f64),
        }
    }

    /// Makes each training face, with probability `p`, borrow the pose of a random face of another identity:
    /// it is warped so that its landmarks move a random fraction of the way to the other face's
    /// ([`super::borrow`]). This teaches each decoder the poses the other identities were filmed in, which a
    /// swap asks of it. Every face needs its landmarks (face sets written by `faceswap extract` have them).
    pub fn set_pose_borrowing(&mut self, p: f32) -> Result<(), String> {
        probability(p, "pose")?;
        if p > 0.0 {
            let count = self.faces.first().and_then(|set| set.first()).map_or(0, |f| f.landmarks.len());
            self.check_landmarks(count, "poses")?;
        }
        self.pose_borrowing = p;
        Ok(())
    }

    /// Refuses borrowing `what` unless every face has `count` landmarks (and some), naming the first set that
    /// lacks them.
    fn check_landmarks(&self, count: usize, what: &str) -> Result<(), String> {
        let bad = self.faces.iter().zip(&self.identities).find(|(set, _)| set.iter().any(|f| f.landmarks.len() != count || count == 0));
        match bad {
            Some((_, name)) => Err(format!("borrowing {what} needs the same landmarks for every face; {name}'s set lacks some (extract it again with `faceswap extract`)")),
            None => Ok(()),
        }
    }

    /// Makes each turned training face (its [`turn`] at least [`FRONTAL_TURN`]), with probability `p`, frontal:
    /// warped onto a random frontal face of another identity, its far half replaced by the mirror image of its
    /// near half ([`super::borrow::borrow_frontal`]). This gives the decoder of an identity filmed only turned
    /// frontal faces of it, which a swap onto a frontal shot asks of it. Every face needs FaceMesh's landmarks;
    /// it has no effect where no other identity has frontal faces.
    pub fn set_frontal_borrowing(&mut self, p: f32) -> Result<(), String> {
        probability(p, "frontal")?;
        self.frontal = Vec::new();
        if p > 0.0 {
            self.check_landmarks(FACEMESH_POINTS, "frontal poses")?;
            self.frontal = self.faces.iter().map(|set| (0..set.len()).filter(|&i| turn(&set[i].landmarks).abs() < FRONTAL_TURN).collect()).collect();
        }
        self.frontal_borrowing = p;
        Ok(())
    }

    /// Makes each training face, with probability `p`, take the colour of a random face of another identity
    /// (Reinhard transfer of the face's Lab statistics, [`super::borrow::borrow_colour`]; DeepFaceLab's
    /// `ct_mode`). Each decoder then learns its identity under the other identities' light, which a swap asks
    /// of it.
    pub fn set_colour_borrowing(&mut self, p: f32) -> Result<(), String> {
        probability(p, "colour")?;
        self.colour_borrowing = p;
        Ok(())
    }

    /// Makes each training face, with probability `p`, sit in the surroundings of a random face of another
    /// identity: the face inside its hull mask is kept, the rest of the crop is the other face's
    /// ([`super::borrow::borrow_context`]). Each decoder then has to draw its identity from the face alone,
    /// not from the hair and background of the shot it learnt from, which a swap asks of it.
    pub fn set_context_borrowing(&mut self, p: f32) -> Result<(), String> {
        probability(p, "context")?;
        self.context_borrowing = p;
        Ok(())
    }

    /// Writes Adam's state (moments and step counts of every weight) to `path`, so that `--resume` continues
    /// the optimisation instead of restarting it cold.
    pub fn save_optimizer(&self, path: &std::path::Path) -> Result<(), String> {
        self.optim.to_record().save(path).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Reads the state [`Trainer::save_optimizer`] wrote for this model. Weights are matched by their
    /// position in the network ([`StableParamIds`]), so the file fits only a model of the same configuration,
    /// which [`Trainer::new`] has checked.
    pub fn load_optimizer(&mut self, path: &std::path::Path) -> Result<(), String> {
        let record = OptimizerRecord::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let optim = std::mem::replace(&mut self.optim, adam());
        self.optim = optim.load_record(record);
        Ok(())
    }

    /// The model as it stands, for saving or previewing (inference copy, no autodiff). Its training record is
    /// the resumed model's, updated by `training_notes` (this run's settings), the iteration count and history.
    pub fn model(&self, training_notes: serde_json::Value) -> SwapModel {
        let mut record = self.record.clone();
        if let serde_json::Value::Object(notes) = training_notes {
            record.extend(notes);
        }
        record.insert("iterations".into(), self.iteration.into());
        record.insert("history".into(), serde_json::to_value(&self.history).unwrap_or_default());
        let training = serde_json::Value::Object(record);
        SwapModel {
            net: self.net.valid(),
            config: self.settings.net.clone(),
            identities: self.identities.clone(),
            template: self.template.clone(),
            training,
        }
    }

    /// Deterministic sample faces for previews (unaugmented): `count` faces of each identity, at the middles of
    /// `count` equal stretches of its set, so that a set extracted from a shot shows its beginning, middle and
    /// end (the scientist's last faces are his only near-frontal ones).
    pub fn preview_faces(&self, count: usize) -> Vec<Vec<&FaceSample>> {
        self.faces
            .iter()
            .map(|set| {
                // A set smaller than `count` shows each of its faces once.
                let shown = count.min(set.len());
                (0..shown).map(|i| &set[(2 * i + 1) * set.len() / (2 * shown)]).collect()
            })
            .collect()
    }
}

/// Checks a borrowing probability (`what`: "pose", "frontal", "colour" or "context").
fn probability(p: f32, what: &str) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("the {what}-borrowing probability must be between 0 and 1, not {p}"))
    }
}

fn adam() -> ModuleOptimizer {
    // DeepFaceLab's Adam settings: β1 0.5 keeps the autoencoder from overshooting on augmented batches.
    AdamConfig::new().with_beta_1(0.5).with_beta_2(0.999).with_epsilon(1e-7).init()
}

/// Gives every weight an id from its position in the network instead of a random one. Adam's saved state is
/// keyed by these ids; a model reloaded from its file gets fresh random ids, so without this the state saved
/// with a checkpoint would match nothing on `--resume`.
#[derive(Default)]
struct StableParamIds {
    next: u64,
}

impl ModuleMapper for StableParamIds {
    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // A fixed high base keeps these ids apart from the random ids other modules in the process draw.
        param.id = ParamId::from(0x5EED_0000_0000_0000 + self.next);
        self.next += 1;
        param
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faceset::{FaceRecord, FaceSetInfo, FACESET_VERSION};
    use crate::pipeline::align::{convex_hull, fill_convex};
    use crate::test_support::fixture;

    /// A face set from FaceMesh fixture crops (real faces from the shared footage, 192 px), with the landmark
    /// hull as the mask.
    fn fixture_set(dir: &std::path::Path, identity: &str, names: &[&str]) -> FaceSet {
        let info = FaceSetInfo { version: FACESET_VERSION, size: 192, template: FaceTemplate::default(), identity: identity.into(), sources: vec![] };
        let mut set = FaceSet::create(dir, info).unwrap();
        for name in names {
            let file = format!("{name}_facemesh");
            let chw = fixture::tensor(&file, "input");
            let plane = 192 * 192;
            let rgb: Vec<f32> = (0..plane).flat_map(|i| [chw[i], chw[plane + i], chw[2 * plane + i]]).collect();
            let lm = fixture::tensor(&file, "landmarks_px");
            let pts: Vec<[f32; 2]> = lm.chunks_exact(3).map(|p| [p[0], p[1]]).collect();
            let mask = fill_convex(&convex_hull(&pts), 192, 192);
            set.write(name, &rgb, mask.data(), &FaceRecord { source: file, frame: 0, landmarks: pts }).unwrap();
        }
        FaceSet::open(dir).unwrap()
    }

    /// Two identities "a" and "b" from these fixture faces.
    fn tiny_sets(dir: &std::path::Path, a: &[&str], b: &[&str]) -> [FaceSet; 2] {
        [fixture_set(&dir.join("a"), "a", a), fixture_set(&dir.join("b"), "b", b)]
    }

    /// A 32 px network of a few thousand weights: seconds per run on a CPU.
    fn tiny_net() -> SwapNetConfig {
        SwapNetConfig::new(32, 2).with_encoder_channels(4).with_decoder_channels(4).with_bottleneck(8)
    }

    /// Preview faces come from the middles of equal stretches of each set: of three faces, two previews show the
    /// first and the last; a set smaller than the count shows each face once.
    #[test]
    fn preview_faces_spread_over_the_set() {
        let dir = tempfile::tempdir().unwrap();
        let sets = tiny_sets(dir.path(), &["tos_0095", "tos_0140", "astronaut"], &["grid_s1_bbaf2n_0030"]);
        let settings = TrainSettings { net: tiny_net(), batch: 2, learning_rate: 1e-4, seed: 1, gan_weight: 0.0, true_face: 0.0 };
        let t = Trainer::new(&sets, settings, &crate::device::cpu(), None).unwrap();
        let picked = t.preview_faces(2);
        assert_eq!(picked[0].len(), 2);
        assert!(std::ptr::eq(picked[0][0], &t.faces[0][0]) && std::ptr::eq(picked[0][1], &t.faces[0][2]));
        assert_eq!(picked[1].len(), 1);
        let all = t.preview_faces(4);
        assert_eq!(all[0].len(), 3);
        assert!((0..3).all(|i| std::ptr::eq(all[0][i], &t.faces[0][i])), "each of the three faces once, in order");
    }

    /// A short run on real crops: the loss must fall. Tiny network (32 px) so it takes seconds on a CPU.
    #[test]
    fn short_training_run_lowers_the_loss() {
        let dir = tempfile::tempdir().unwrap();
        let sets = [
            fixture_set(&dir.path().join("scientist"), "scientist", &["tos_0095", "tos_0140"]),
            fixture_set(&dir.path().join("others"), "others", &["grid_s1_bbaf2n_0030", "astronaut"]),
        ];
        let net = SwapNetConfig::new(32, 2).with_encoder_channels(8).with_decoder_channels(8).with_bottleneck(32);
        let settings = TrainSettings { net, batch: 4, learning_rate: 5e-4, seed: 1, gan_weight: 0.0, true_face: 0.0 };
        let device = crate::device::cpu();
        let mut t = Trainer::new(&sets, settings, &device, None).unwrap();
        let losses: Vec<f32> = (0..60).map(|_| t.step().unwrap().iter().sum()).collect();
        let first: f32 = losses[..5].iter().sum::<f32>() / 5.0;
        let last: f32 = losses[55..].iter().sum::<f32>() / 5.0;
        eprintln!("training loss {first:.4} -> {last:.4}");
        // Augmentation keeps the loss noisy; 20% lower over 60 steps is a clear trend, not noise.
        assert!(last < first * 0.8, "loss {first} -> {last}");
        // The saved model reloads and its preview sheet has a row per sample face and a column per identity + input.
        let model = t.model(serde_json::json!({}));
        assert_eq!(model.training["iterations"], 60);
        let sheet = super::super::preview::sheet(&model, &t.preview_faces(2), &device);
        assert_eq!(sheet.dimensions(), super::super::preview::sheet_size(2, 4, 32));
        let plot = super::super::loss_curve::plot(&t.history, &t.identities);
        assert!(plot.pixels().any(|p| p.0 != [255, 255, 255]));
    }

    /// `faceswap widen` then `--resume`: the wider model's first step sees the loss the narrow one would have
    /// (same batches, same function), and training goes on from there.
    #[test]
    fn a_widened_model_resumes_where_the_narrow_one_was() {
        let dir = tempfile::tempdir().unwrap();
        let sets = tiny_sets(dir.path(), &["tos_0095", "tos_0140"], &["grid_s1_bbaf2n_0030", "astronaut"]);
        let settings = TrainSettings { net: tiny_net(), batch: 2, learning_rate: 5e-4, seed: 5, gan_weight: 0.0, true_face: 0.0 };
        let device = crate::device::cpu();
        let mut t = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        (0..3).for_each(|_| drop(t.step().unwrap()));
        let narrow = t.model(serde_json::json!({}));
        let net = settings.net.clone().with_encoder_channels(6).with_decoder_channels(8).with_bottleneck(16);
        let wide = super::super::widen::widen(&narrow, &net, 1, &device).unwrap();
        let next = t.step().unwrap();
        // Resuming it with the old widths says what the file has and what the run asked for.
        let why = Trainer::new(&sets, settings.clone(), &device, Some(wide.clone())).err().unwrap();
        assert!(why.contains("encoder 6, decoder 8, bottleneck 16") && why.contains("encoder 4, decoder 4, bottleneck 8"), "{why}");
        let mut w = Trainer::new(&sets, TrainSettings { net, ..settings }, &device, Some(wide)).unwrap();
        assert_eq!(w.iteration, 3);
        let first = w.step().unwrap();
        for (a, b) in next.iter().zip(&first) {
            // Float rounding of the split weights only (see widen's own test); the losses are ~0.1-1.
            assert!((a - b).abs() < 1e-4 * a.max(1.0), "narrow {next:?} vs widened {first:?}");
        }
        w.step().unwrap();
        assert_eq!(w.history.len(), 5);
        // Its checkpoints still say it was widened (the run's notes update the resumed record, not replace it).
        let saved = w.model(serde_json::json!({"seed": 5}));
        assert_eq!(saved.training["widened"][0]["to"]["decoder_channels"], 8);
        assert_eq!(saved.training["iterations"], 5);
    }

    /// `faceswap widen --add-identity` then `--resume` with a face set more: training goes on with a loss per
    /// identity, the history mixing two- and three-identity steps (the loss curve draws both), and the record
    /// keeps the addition.
    #[test]
    fn a_model_with_an_added_identity_resumes_with_its_face_set() {
        let dir = tempfile::tempdir().unwrap();
        let [a, b] = tiny_sets(dir.path(), &["tos_0095", "tos_0140"], &["grid_s1_bbaf2n_0030"]);
        let three = [a, b, fixture_set(&dir.path().join("c"), "c", &["astronaut"])];
        let settings = TrainSettings { net: tiny_net(), batch: 2, learning_rate: 5e-4, seed: 5, gan_weight: 0.0, true_face: 0.0 };
        let device = crate::device::cpu();
        let mut t = Trainer::new(&three[..2], settings.clone(), &device, None).unwrap();
        (0..2).for_each(|_| drop(t.step().unwrap()));
        let before = t.model(serde_json::json!({}));
        let net = SwapNetConfig { identities: 3, ..settings.net.clone() };
        let three_sets = TrainSettings { net, ..settings };
        // A set more than the model has, before growing it: the message says how to grow it.
        let why = Trainer::new(&three, three_sets.clone(), &device, Some(before.clone())).err().unwrap();
        assert!(why.contains("has 2 identities (a, b) and this run 3 face sets") && why.contains("--add-identity"), "{why}");
        let grown = super::super::widen::add_identities(&before, &["c".into()], "b", &device).unwrap();
        let mut g = Trainer::new(&three, three_sets, &device, Some(grown)).unwrap();
        assert_eq!(g.iteration, 2);
        assert_eq!(g.step().unwrap().len(), 3);
        assert_eq!(g.history.iter().map(|(_, l)| l.len()).collect::<Vec<_>>(), [2, 2, 3]);
        let plot = super::super::loss_curve::plot(&g.history, &g.identities);
        assert!(plot.pixels().any(|p| p.0 != [255, 255, 255]));
        assert_eq!(g.model(serde_json::json!({})).training["added"][0]["identities"], serde_json::json!(["c"]));
    }

    /// A model grown to twice its crop trains on at the new size, carrying its iterations on, and starts from what
    /// it learnt: its first loss at 64 px is below a fresh 64 px network's on the same batch (a fresh network
    /// draws mid-grey with a half-on mask; the grown one already draws the faces' colours and outlines).
    #[test]
    fn a_model_grown_to_a_larger_crop_trains_on_from_what_it_learnt() {
        let dir = tempfile::tempdir().unwrap();
        let sets = tiny_sets(dir.path(), &["tos_0095", "tos_0140"], &["grid_s1_bbaf2n_0030", "astronaut"]);
        let settings = TrainSettings { net: tiny_net(), batch: 2, learning_rate: 2e-3, seed: 6, gan_weight: 0.0, true_face: 0.0 };
        let device = crate::device::cpu();
        let mut t = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        (0..40).for_each(|_| drop(t.step().unwrap()));
        let net = SwapNetConfig { resolution: 64, ..settings.net.clone() };
        let grown = super::super::widen::widen(&t.model(serde_json::json!({})), &net, 1, &device).unwrap();
        let large = TrainSettings { net, ..settings };
        let mut g = Trainer::new(&sets, large.clone(), &device, Some(grown)).unwrap();
        assert_eq!(g.iteration, 40);
        // The fresh network draws the same batch: batches depend on the seed and the iteration only.
        let mut fresh = Trainer::new(&sets, large, &device, None).unwrap();
        fresh.iteration = 40;
        let (grown_loss, fresh_loss) = (g.step().unwrap(), fresh.step().unwrap());
        for (a, b) in grown_loss.iter().zip(&fresh_loss) {
            assert!(a < b, "grown {grown_loss:?} vs fresh {fresh_loss:?}");
        }
        assert_eq!(g.model(serde_json::json!({})).training["widened"][0]["to"]["resolution"], 64);
    }

    /// Pose, frontal, colour and context borrowing off draw exactly the batches of a run without them (runs stay
    /// reproducible across versions); on, each changes them and training goes on; a bad probability, or a face
    /// without landmarks for pose or frontal borrowing, is refused with the set named.
    #[test]
    fn borrowing_changes_the_batches_only_when_on() {
        let dir = tempfile::tempdir().unwrap();
        let sets = tiny_sets(dir.path(), &["tos_0095", "tos_0140"], &["grid_s1_bbaf2n_0030", "astronaut"]);
        let settings = TrainSettings { net: tiny_net(), batch: 3, learning_rate: 1e-3, seed: 4, gan_weight: 0.0, true_face: 0.0 };
        let device = crate::device::cpu();
        let data = |(i, t, m): (Tensor<4>, Tensor<4>, Tensor<4>)| [i, t, m].map(|x| x.into_data().try_to_vec::<f32>().unwrap());
        let mut plain = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        let mut off = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        off.set_pose_borrowing(0.0).unwrap();
        off.set_colour_borrowing(0.0).unwrap();
        off.set_context_borrowing(0.0).unwrap();
        off.set_frontal_borrowing(0.0).unwrap();
        let mut on = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        on.set_pose_borrowing(1.0).unwrap();
        let mut colour = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        colour.set_colour_borrowing(1.0).unwrap();
        let mut context = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        context.set_context_borrowing(1.0).unwrap();
        let (p, o, b, c) = (data(plain.batch(1)), data(off.batch(1)), data(on.batch(1)), data(colour.batch(1)));
        let x = data(context.batch(1));
        // The scientist's faces (set a) are turned, s1's and the astronaut's (set b) frontal: a's faces are made
        // frontal on b's, b's have no frontal donor and are left alone.
        let mut frontal = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        frontal.set_frontal_borrowing(1.0).unwrap();
        assert_eq!(frontal.frontal, [vec![], vec![0, 1]], "the turned scientist lends no pose; s1 and the astronaut do");
        let f = data(frontal.batch(0));
        assert_ne!(data(Trainer::new(&sets, settings.clone(), &device, None).unwrap().batch(0))[1], f[1], "frontal faces must change the targets");
        assert_eq!(p, o);
        assert_ne!(p[1], b[1], "borrowed poses must change the targets");
        assert_ne!(p[1], c[1], "borrowed colours must change the targets");
        assert_ne!(p[1], x[1], "borrowed surroundings must change the targets");
        assert!(b.iter().chain(&c).chain(&x).flatten().all(|v| (0.0..=1.0).contains(v)));
        assert!(colour.set_colour_borrowing(1.01).is_err() && context.set_context_borrowing(-0.5).is_err());
        let losses = on.step().unwrap();
        assert!(losses.iter().all(|l| l.is_finite()));
        assert!(on.set_pose_borrowing(1.5).is_err() && on.set_pose_borrowing(-0.1).is_err());
        std::fs::remove_file(dir.path().join("b/landmarks/astronaut.json")).unwrap();
        let sets = [FaceSet::open(&dir.path().join("a")).unwrap(), FaceSet::open(&dir.path().join("b")).unwrap()];
        let mut lacking = Trainer::new(&sets, settings, &device, None).unwrap();
        let why = lacking.set_pose_borrowing(0.5).unwrap_err();
        assert!(why.contains("b's set"), "{why}");
        let why = lacking.set_frontal_borrowing(0.5).unwrap_err();
        assert!(why.contains("frontal poses") && why.contains("b's set"), "{why}");
        lacking.set_pose_borrowing(0.0).unwrap();
    }

    #[test]
    fn warmup_ramps_the_learning_rate_over_the_run_s_first_steps() {
        let dir = tempfile::tempdir().unwrap();
        let sets = tiny_sets(dir.path(), &["tos_0095"], &["grid_s1_bbaf2n_0030"]);
        let settings = TrainSettings { net: tiny_net(), batch: 1, learning_rate: 1e-3, seed: 2, gan_weight: 0.0, true_face: 0.0 };
        let device = crate::device::cpu();
        let mut t = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        assert_eq!(t.learning_rate(), 1e-3, "no warmup unless asked");
        t.step().unwrap();
        let mut r = Trainer::new(&sets, settings, &device, Some(t.model(serde_json::json!({})))).unwrap();
        r.warmup = 4;
        let mut rates = Vec::new();
        for _ in 0..5 {
            rates.push(r.learning_rate());
            r.step().unwrap();
        }
        // Counted from this run's first step (the resumed model was at iteration 1), not from iteration 0.
        let expected = [0.25e-3, 0.5e-3, 0.75e-3, 1e-3, 1e-3];
        assert!(rates.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12), "{rates:?}");
    }

    /// Regression: `--resume` moved the loaded weights with `to_device`, which leaves them untracked by
    /// autodiff, and the first step panicked in `backward`.
    #[test]
    fn resume_panicked_on_untracked_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let (sets, net) = (tiny_sets(dir.path(), &["tos_0095"], &["grid_s1_bbaf2n_0030"]), tiny_net());
        let settings = TrainSettings { net, batch: 2, learning_rate: 5e-4, seed: 3, gan_weight: 0.0, true_face: 0.0 };
        let device = crate::device::cpu();
        let mut t = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        t.step().unwrap();
        let path = dir.path().join("m.safetensors");
        t.model(serde_json::json!({})).save(&path).unwrap();
        let before = SwapModel::load(&path, &device).unwrap();
        let mut resumed = Trainer::new(&sets, settings, &device, Some(before)).unwrap();
        assert_eq!(resumed.iteration, 1);
        resumed.step().unwrap();
        assert_eq!((resumed.iteration, resumed.history.len()), (2, 2));
    }

    /// Resuming with Adam's saved state takes exactly the step the uninterrupted run takes; without the state
    /// (moments restarted at zero) the step differs.
    #[test]
    fn resume_with_optimizer_state_continues_the_same_run() {
        let dir = tempfile::tempdir().unwrap();
        let (sets, net) = (tiny_sets(dir.path(), &["tos_0095"], &["grid_s1_bbaf2n_0030"]), tiny_net());
        let settings = TrainSettings { net, batch: 2, learning_rate: 1e-3, seed: 5, gan_weight: 0.0, true_face: 0.0 };
        let device = crate::device::cpu();
        let mut t = Trainer::new(&sets, settings.clone(), &device, None).unwrap();
        for _ in 0..3 {
            t.step().unwrap();
        }
        let (model, adam) = (dir.path().join("m.safetensors"), dir.path().join("m.adam"));
        t.model(serde_json::json!({})).save(&model).unwrap();
        t.save_optimizer(&adam).unwrap();
        t.step().unwrap();
        let weights = |m: SwapModel| -> Vec<f32> {
            let file = dir.path().join("w.safetensors");
            m.save(&file).unwrap();
            let bytes = std::fs::read(&file).unwrap();
            let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
            let mut names = st.names();
            names.sort();
            names.iter().flat_map(|n| st.tensor(n).unwrap().data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect::<Vec<_>>()).collect()
        };
        let uninterrupted = weights(t.model(serde_json::json!({})));
        let resume = |with_state: bool| {
            let mut r = Trainer::new(&sets, settings.clone(), &device, Some(SwapModel::load(&model, &device).unwrap())).unwrap();
            if with_state {
                r.load_optimizer(&adam).unwrap();
            }
            r.step().unwrap();
            weights(r.model(serde_json::json!({})))
        };
        let (warm, cold) = (resume(true), resume(false));
        let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        // Same batches (the augmentation RNG is seeded per iteration), same weights and Adam state: the same
        // arithmetic, so bit-identical.
        assert_eq!(diff(&warm, &uninterrupted), 0.0, "resumed step differs from the uninterrupted one");
        assert!(diff(&cold, &uninterrupted) > 1e-6, "a cold Adam must take another step");
    }

    /// With a GAN weight a discriminator is trained beside the network (its loss is reported) and its term
    /// changes the generator's steps; without one there is none. Whether the discriminator learns at all is
    /// `patchgan::tests::adam_steps_teach_it_real_from_fake`; on these tiny nets and 40 steps its loss stays
    /// near 2 ln 2 (guessing), so this test does not ask more of it.
    #[test]
    fn gan_option_trains_a_discriminator_and_moves_the_generator() {
        let dir = tempfile::tempdir().unwrap();
        let (sets, net) = (tiny_sets(dir.path(), &["tos_0095", "tos_0140"], &["grid_s1_bbaf2n_0030", "astronaut"]), tiny_net());
        let device = crate::device::cpu();
        let run = |gan_weight: f32| {
            let settings = TrainSettings { net: net.clone(), batch: 2, learning_rate: 1e-3, seed: 9, gan_weight, true_face: 0.0 };
            let mut t = Trainer::new(&sets, settings, &device, None).unwrap();
            let d: Vec<f32> = (0..10).map(|_| {
                t.step().unwrap();
                t.discriminator_loss.unwrap_or(f32::NAN)
            }).collect();
            (t.history.last().unwrap().1.clone(), d)
        };
        let (plain, no_d) = run(0.0);
        let (with_gan, d) = run(0.1);
        assert!(no_d.iter().all(|v| v.is_nan()), "no discriminator without a GAN weight");
        assert!(d.iter().all(|v| v.is_finite()));
        eprintln!("discriminator loss over 10 steps: {d:?}");
        assert_ne!(plain, with_gan, "the GAN term must change training");
        let bad = TrainSettings { net, batch: 2, learning_rate: 1e-3, seed: 9, gan_weight: -1.0, true_face: 0.0 };
        assert!(Trainer::new(&sets, bad, &device, None).is_err());
    }

    /// With a true-face weight a code discriminator is trained beside the network (its loss is reported) and
    /// its confusion term changes the network's steps; LIAE and negative weights are refused. Whether the
    /// discriminator can learn is `true_face::tests::shapes_and_adam_steps_teach_it_whose_code`: here, against
    /// an encoder that is pushed to confuse it on augmented batches of two, its loss wanders around ln 2
    /// (guessing) for 30 steps, so this test does not ask more of it.
    #[test]
    fn true_face_option_trains_a_code_discriminator() {
        let dir = tempfile::tempdir().unwrap();
        let (sets, net) = (tiny_sets(dir.path(), &["tos_0095", "tos_0140"], &["grid_s1_bbaf2n_0030", "astronaut"]), tiny_net());
        let device = crate::device::cpu();
        let settings = |true_face: f32| TrainSettings { net: net.clone(), batch: 2, learning_rate: 1e-3, seed: 11, gan_weight: 0.0, true_face };
        let run = |true_face: f32| {
            let mut t = Trainer::new(&sets, settings(true_face), &device, None).unwrap();
            let d: Vec<f32> = (0..30).map(|_| {
                t.step().unwrap();
                t.code_discriminator_loss.unwrap_or(f32::NAN)
            }).collect();
            (t.history.last().unwrap().1.clone(), d)
        };
        let (plain, none) = run(0.0);
        let (confused, d) = run(0.01);
        assert!(none.iter().all(|v| v.is_nan()), "no code discriminator without a weight");
        eprintln!("code discriminator loss over 30 steps: {d:?}");
        assert!(d.iter().all(|v| v.is_finite()), "{d:?}");
        assert_ne!(plain, confused, "the confusion term must change training");
        assert!(Trainer::new(&sets, settings(-0.5), &device, None).is_err());
        let liae = TrainSettings { net: net.clone().with_arch(Arch::Liae), ..settings(0.01) };
        assert!(Trainer::new(&sets, liae, &device, None).is_err());
    }
}
