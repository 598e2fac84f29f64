//! `faceswap widen`: a trained model grown to wider layers that compute what it did, to a larger crop (a warm
//! start), or by more identities (each starting as a copy of a trained one), to go on training (`faceswap train
//! --resume` with the new shape or sets) instead of starting a model from noise.

use burn::module::Module;
use faceswap_ofx::model::swap_model::SwapModel;
use faceswap_ofx::model::swapnet::SwapNetConfig;
use faceswap_ofx::train::widen::{add_identities, widen};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The trained model.
    #[arg(long)]
    pub model: PathBuf,
    /// Where to write the widened model (not the input: the narrow model stays as it was).
    #[arg(long)]
    pub out: PathBuf,
    /// New encoder width (first level's channels); default: the model's.
    #[arg(long)]
    pub encoder_channels: Option<usize>,
    /// New decoder width (last level's channels); default: the model's.
    #[arg(long)]
    pub decoder_channels: Option<usize>,
    /// New bottleneck width; default: the model's.
    #[arg(long)]
    pub bottleneck: Option<usize>,
    /// New crop side, the model's times a whole factor (64 -> 128, 256...); default: the model's. A warm start,
    /// not the same function: the convolutions keep their weights but see faces in more pixels.
    #[arg(long)]
    pub resolution: Option<usize>,
    /// Seed of the jitter that lets copied units drift apart in training.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Add an identity of this name (repeat for more), after the model's own: its decoder (df; liae: its inter
    /// block) starts as a copy of --like's. Then train with one face set per identity, old and new, in the order `faceswap info` lists.
    /// Not with new widths or resolution: one growth at a time.
    #[arg(long = "add-identity", value_name = "NAME")]
    pub add_identity: Vec<String>,
    /// The trained identity whose decoder (liae: inter block) the added ones copy (pick the most similar face):
    /// default the first.
    #[arg(long, value_name = "NAME", requires = "add_identity")]
    pub like: Option<String>,
}

pub fn run(args: Args) -> Result<(), String> {
    if args.out == args.model {
        return Err("--out must differ from --model: the narrow model is kept".into());
    }
    let device = faceswap_ofx::device::cpu();
    let model = SwapModel::load(&args.model, &device).map_err(|e| e.to_string())?;
    if !args.add_identity.is_empty() {
        if args.encoder_channels.is_some() || args.decoder_channels.is_some() || args.bottleneck.is_some() || args.resolution.is_some() {
            return Err("--add-identity does not go with new widths or a new resolution: one growth at a time".into());
        }
        let like = args.like.clone().unwrap_or_else(|| model.identities[0].clone());
        let grown = add_identities(&model, &args.add_identity, &like, &device)?;
        grown.save(&args.out).map_err(|e| e.to_string())?;
        println!("{} grown to {} identities: {}", args.out.display(), grown.identities.len(), grown.identities.join(", "));
        let sets: Vec<String> = grown.identities.iter().map(|n| format!("--set <{n}'s faces>")).collect();
        print_next_step(&sets.join(" "), &args.out, &grown.config);
        return Ok(());
    }
    let from = &model.config;
    let to = SwapNetConfig {
        resolution: args.resolution.unwrap_or(from.resolution),
        encoder_channels: args.encoder_channels.unwrap_or(from.encoder_channels),
        decoder_channels: args.decoder_channels.unwrap_or(from.decoder_channels),
        bottleneck: args.bottleneck.unwrap_or(from.bottleneck),
        ..from.clone()
    };
    let wide = widen(&model, &to, args.seed, &device)?;
    wide.save(&args.out).map_err(|e| e.to_string())?;
    let mb = |m: &SwapModel| m.net.num_params() as f64 * 4.0 / 1e6;
    println!(
        "{} ({:.1} MB of weights) grown to {} ({:.1} MB): {} px, encoder {}, decoder {}, bottleneck {}",
        args.model.display(),
        mb(&model),
        args.out.display(),
        mb(&wide),
        to.resolution,
        to.encoder_channels,
        to.decoder_channels,
        to.bottleneck
    );
    print_next_step("<the same sets>", &args.out, &to);
    Ok(())
}

/// The `faceswap train` command that goes on training the grown model.
fn print_next_step(sets: &str, out: &std::path::Path, c: &SwapNetConfig) {
    println!(
        "go on training it with: faceswap train {sets} --out {} --resume --resolution {} --arch {} \
         --encoder-channels {} --decoder-channels {} --bottleneck {} (Adam starts afresh)",
        out.display(),
        c.resolution,
        c.arch.name(),
        c.encoder_channels,
        c.decoder_channels,
        c.bottleneck
    );
}
