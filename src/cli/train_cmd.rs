//! `faceswap train`: face sets of two or more identities → a swap model, with a progress bar, preview sheets,
//! a loss curve, checkpoints (with Adam's state in `<out>.adam`), `--resume`, and a clean save on Ctrl-C,
//! SIGTERM or SIGHUP.

use faceswap_ofx::faceset::FaceSet;
use faceswap_ofx::model::swap_model::SwapModel;
use faceswap_ofx::model::swapnet::{Arch, SwapNetConfig};
use faceswap_ofx::train::{loss_curve, preview};
use faceswap_ofx::train::trainer::{TrainSettings, Trainer};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// A face set folder written by `faceswap extract`, one per identity (at least two), in decoder order.
    #[arg(long = "set", required = true)]
    pub sets: Vec<PathBuf>,
    /// The model file to write (checkpoints overwrite it; previews go to <out>.previews/).
    #[arg(long)]
    pub out: PathBuf,
    /// Continue training the model at --out (same sets and configuration).
    #[arg(long)]
    pub resume: bool,
    /// Crop side the network works at: a multiple of 16 (64 trains fast on a CPU; 128 or 256 want a GPU).
    #[arg(long, default_value_t = 64)]
    pub resolution: usize,
    /// df: one decoder per identity (likeness); liae: one inter block per identity (carries lighting over).
    #[arg(long, default_value = "df")]
    pub arch: String,
    #[arg(long, default_value_t = 32)]
    pub encoder_channels: usize,
    #[arg(long, default_value_t = 32)]
    pub decoder_channels: usize,
    #[arg(long, default_value_t = 256)]
    pub bottleneck: usize,
    /// Faces per identity per step.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Iterations to reach (counting those of a resumed model).
    #[arg(long, default_value_t = 10_000)]
    pub iterations: u64,
    #[arg(long, default_value_t = 1e-4)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write a preview sheet every N iterations (0 = only at the end).
    #[arg(long, default_value_t = 500)]
    pub preview_every: u64,
    /// Save a checkpoint every N iterations (0 = only at the end).
    #[arg(long, default_value_t = 1000)]
    pub save_every: u64,
    /// Weight of an adversarial PatchGAN term (DeepFaceLab's "GAN power"): sharper texture, slower steps and
    /// less stable training. 0 = off. Try 0.1 once the reconstruction looks right; the discriminator is not
    /// saved, so a resumed run trains a new one.
    #[arg(long, default_value_t = 0.0)]
    pub gan_weight: f32,
    /// Weight of a code discriminator that the shared latent must fool (DeepFaceLab's "true face power",
    /// for any number of identities; df only). On the default model it made the swap onto the identity
    /// with few faces more alike and the other direction worse (models/ARCHITECTURES.md). 0 = off;
    /// 0.01-0.05 on a model whose reconstructions already look right. Not saved: a resumed run trains a
    /// new discriminator.
    #[arg(long, default_value_t = 0.0)]
    pub true_face: f32,
    /// Ramp the learning rate up linearly over this run's first N iterations. Default: 500 when --resume
    /// finds no Adam state for the model (after `faceswap widen`, or a copied checkpoint), where a cold Adam's
    /// first steps otherwise push the trained model back; 0 otherwise.
    #[arg(long)]
    pub warmup: Option<u64>,
    /// Probability (0-1) that a training face borrows the pose of a random face of another identity: it is
    /// warped so its landmarks move part of the way to the other face's. Teaches each decoder the poses the
    /// other identities were filmed in, which is what a swap asks of it. 0 = off.
    #[arg(long, default_value_t = 0.0)]
    pub pose_borrowing: f32,
    /// Probability (0-1) that a turned training face is made frontal: warped onto a random frontal face of
    /// another identity, its far half replaced by the mirror image of its near half. Gives the decoder of an
    /// identity filmed only turned frontal faces of it, for swaps onto frontal shots (measured on the default
    /// model: README, "Borrowing from the other identities"). 0 = off.
    #[arg(long, default_value_t = 0.0)]
    pub frontal_borrowing: f32,
    /// Probability (0-1) that a training face takes the colour of a random face of another identity (its Lab
    /// mean and spread inside the face mask; DeepFaceLab's ct_mode rct). Teaches each decoder its identity
    /// under the other identities' light. 0 = off.
    #[arg(long, default_value_t = 0.0)]
    pub colour_borrowing: f32,
    /// Probability (0-1) that a training face is set in the surroundings (hair, ears, background) of a random
    /// face of another identity, its own face kept inside the hull mask. Stops a decoder drawing its identity
    /// from the shot's background instead of the face, which is what it gets in a swap (measured on the
    /// default model: README, "Borrowing from the other identities"). 0 = off.
    #[arg(long, default_value_t = 0.0)]
    pub context_borrowing: f32,
    /// cpu, gpu or auto (GPU when a real one exists).
    #[arg(long, default_value = "auto")]
    pub device: String,
}

/// `--warmup`'s default on a resume that restarts Adam cold.
const COLD_RESUME_WARMUP: u64 = 500;

/// The warm-up of this run: as asked, else [`COLD_RESUME_WARMUP`] when Adam restarts on a trained model.
fn warmup(asked: Option<u64>, cold_resume: bool) -> u64 {
    asked.unwrap_or(if cold_resume { COLD_RESUME_WARMUP } else { 0 })
}

fn arch(s: &str) -> Result<Arch, String> {
    let wanted = s.to_ascii_lowercase();
    Arch::ALL.into_iter().find(|a| a.name() == wanted).ok_or_else(|| format!("--arch must be df or liae, not '{wanted}'"))
}

fn device(s: &str) -> Result<burn::tensor::Device, String> {
    use faceswap_ofx::device;
    match s {
        "cpu" => Ok(device::cpu()),
        "gpu" => device::gpu().map_err(|e| format!("--device gpu: {e}")),
        "auto" => Ok(device::gpu().unwrap_or_else(|_| device::cpu())),
        other => Err(format!("--device must be cpu, gpu or auto, not '{other}'")),
    }
}

/// Adam's state beside the model: `<out>.adam`.
pub(crate) fn optimizer_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".adam");
    out.with_file_name(name)
}

fn previews_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".previews");
    out.with_file_name(name)
}

pub fn run(args: Args) -> Result<(), String> {
    if args.sets.len() < 2 {
        return Err("give at least two --set folders (one per identity)".into());
    }
    if args.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    let net = SwapNetConfig::new(args.resolution, args.sets.len())
        .with_arch(arch(&args.arch)?)
        .with_encoder_channels(args.encoder_channels)
        .with_decoder_channels(args.decoder_channels)
        .with_bottleneck(args.bottleneck);
    net.validate()?;
    let sets = args.sets.iter().map(|d| FaceSet::open(d).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()?;
    let dev = device(&args.device)?;
    let resume = if args.resume {
        Some(SwapModel::load(&args.out, &dev).map_err(|e| format!("--resume: {e}"))?)
    } else {
        None
    };
    // The model's record says at which iteration its Adam state was saved: a state file from another
    // checkpoint (an interrupted save, a copied model) is not used.
    let saved_state_at = resume.as_ref().and_then(|m| m.training.get("optimizer_iteration").and_then(|v| v.as_u64()));
    let settings = TrainSettings { net, batch: args.batch, learning_rate: args.learning_rate, seed: args.seed, gan_weight: args.gan_weight, true_face: args.true_face };
    let mut trainer = Trainer::new(&sets, settings, &dev, resume)?;
    let adam = optimizer_path(&args.out);
    let cold_resume = args.resume && !(saved_state_at == Some(trainer.iteration) && adam.is_file());
    trainer.warmup = warmup(args.warmup, cold_resume);
    trainer.set_pose_borrowing(args.pose_borrowing)?;
    trainer.set_frontal_borrowing(args.frontal_borrowing)?;
    trainer.set_colour_borrowing(args.colour_borrowing)?;
    trainer.set_context_borrowing(args.context_borrowing)?;
    if args.resume {
        if cold_resume {
            let ramp = match trainer.warmup {
                0 => String::new(),
                n => format!(", learning rate ramped up over {n} iterations"),
            };
            eprintln!("note: no optimizer state saved with this checkpoint ({}): Adam restarts from zero{ramp}", adam.display());
        } else {
            trainer.load_optimizer(&adam)?;
        }
    }
    let previews = previews_dir(&args.out);
    std::fs::create_dir_all(&previews).map_err(|e| format!("{}: {e}", previews.display()))?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // Ctrl-C, SIGTERM (a scheduler cancelling the job) and SIGHUP (the terminal closed) all stop after the
    // current step with a clean save. A second signal while saving is ignored: the save is atomic and short.
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).map_err(|e| format!("cannot watch Ctrl-C: {e}"))?;

    let notes = serde_json::json!({
        "sets": args.sets.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "faces": sets.iter().map(|s| s.items.len()).collect::<Vec<_>>(),
        "batch": args.batch,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "gan_weight": args.gan_weight,
        "true_face": args.true_face,
        "warmup": trainer.warmup,
        "pose_borrowing": args.pose_borrowing,
        "frontal_borrowing": args.frontal_borrowing,
        "colour_borrowing": args.colour_borrowing,
        "context_borrowing": args.context_borrowing,
        "faceswap_ofx": env!("CARGO_PKG_VERSION"),
        "burn": "0.22.1",
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "device": format!("{dev:?}"),
    });
    let save = |t: &Trainer, elapsed: f64| -> Result<(), String> {
        let mut n = notes.clone();
        n["seconds"] = serde_json::json!(elapsed);
        n["saved_at_unix"] = serde_json::json!(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0));
        // The optimizer state first: a model is only marked as having one once it is on disk.
        t.save_optimizer(&adam)?;
        n["optimizer_iteration"] = serde_json::json!(t.iteration);
        let model = t.model(n);
        model.save(&args.out).map_err(|e| e.to_string())?;
        preview::sheet(&model, &t.preview_faces(3), &dev).save(previews.join(format!("preview_{:07}.png", t.iteration))).map_err(|e| e.to_string())?;
        loss_curve::plot(&t.history, &t.identities).save(previews.join("loss.png")).map_err(|e| e.to_string())
    };

    let start_it = trainer.iteration;
    let todo = args.iterations.saturating_sub(start_it);
    let bar = ProgressBar::new(todo);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} it  {per_sec}  ETA {eta}  {msg}")
            .map_err(|e| e.to_string())?,
    );
    let t0 = Instant::now();
    while trainer.iteration < args.iterations && !stop.load(Ordering::SeqCst) {
        let losses = trainer.step()?;
        let mut msg: Vec<String> = trainer.identities.iter().zip(&losses).map(|(n, l)| format!("{n} {l:.4}")).collect();
        if let Some(d) = trainer.discriminator_loss {
            msg.push(format!("D {d:.3}"));
        }
        if let Some(d) = trainer.code_discriminator_loss {
            msg.push(format!("code D {d:.3}"));
        }
        bar.set_message(msg.join("  "));
        bar.inc(1);
        let it = trainer.iteration;
        if args.save_every > 0 && it % args.save_every == 0 {
            save(&trainer, t0.elapsed().as_secs_f64())?;
        } else if args.preview_every > 0 && it % args.preview_every == 0 {
            let model = trainer.model(notes.clone());
            preview::sheet(&model, &trainer.preview_faces(3), &dev)
                .save(previews.join(format!("preview_{it:07}.png")))
                .map_err(|e| e.to_string())?;
            loss_curve::plot(&trainer.history, &trainer.identities).save(previews.join("loss.png")).map_err(|e| e.to_string())?;
        }
    }
    // `finish` would fill the bar to its length: a stopped run keeps the count it reached.
    if stop.load(Ordering::SeqCst) {
        bar.abandon();
    } else {
        bar.finish();
    }
    save(&trainer, t0.elapsed().as_secs_f64())?;
    let secs = t0.elapsed().as_secs_f64();
    let done = trainer.iteration - start_it;
    // A run that only rewrites the previews (`--resume` at the target count) has no rate to report.
    let rate = if done > 0 { format!(", {:.2} s/it", secs / done as f64) } else { String::new() };
    // Not `println!`: after SIGHUP the terminal is gone, and a failed write must not turn a saved run into a
    // panic.
    let _ = writeln!(
        std::io::stdout(),
        "{} after {} iterations ({done} this run{rate}){}; previews in {}",
        args.out.display(),
        trainer.iteration,
        if stop.load(Ordering::SeqCst) { ", stopped by a signal" } else { "" },
        previews.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_defaults_to_a_ramp_only_when_adam_restarts_on_a_trained_model() {
        assert_eq!((warmup(None, true), warmup(None, false)), (COLD_RESUME_WARMUP, 0));
        assert_eq!((warmup(Some(0), true), warmup(Some(200), false)), (0, 200));
    }

    #[test]
    fn arch_and_device_names_are_checked() {
        assert_eq!(arch("LIAE").unwrap(), Arch::Liae);
        assert!(arch("sae").is_err());
        assert!(device("tpu").is_err());
        assert_eq!(previews_dir(Path::new("/m/a.safetensors")), PathBuf::from("/m/a.safetensors.previews"));
        assert_eq!(optimizer_path(Path::new("/m/a.safetensors")), PathBuf::from("/m/a.safetensors.adam"));
    }
}
