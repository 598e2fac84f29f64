//! `faceswap`: the command-line side of the node. Parses arguments into validated settings, runs one
//! subcommand, and reports failure in one place.

mod apply_cmd;
mod apply_params;
mod bundle_cmd;
mod contact_sheet;
mod demo_cmd;
mod evaluate_cmd;
mod extract_cmd;
mod info_cmd;
mod inputs;
mod render_cmd;
mod train_cmd;
mod widen_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "faceswap", version, about = "Face swapping for compositors: the OFX node's companion tool")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pack the built plug-in into FaceSwap.ofx.bundle (install it by putting its folder on OFX_PLUGIN_PATH).
    Bundle(bundle_cmd::Args),
    /// Render a frame range through the plug-in bundle with the headless OFX host (frames, and planes with --planes).
    Render(render_cmd::Args),
    /// The node's swap on a sequence, an image or a video without a host: output frames and mask frames.
    Apply(apply_cmd::Args),
    /// The main job on the built-in default: the Tears of Steel shot through the node, with mask frames and a contact sheet.
    Demo(demo_cmd::Args),
    /// Footage (images, folders, sequences, videos) to a face set: aligned face crops, masks and landmarks for training.
    Extract(extract_cmd::Args),
    /// Mean SSIM of a model's reconstructions of a face set (held-out quality).
    Evaluate(evaluate_cmd::Args),
    /// Face sets of two or more identities to a swap model (progress, previews, loss curve, checkpoints, --resume).
    Train(train_cmd::Args),
    /// What a model file holds (identities, network, training record, growth steps), from its header alone.
    Info(info_cmd::Args),
    /// A trained model grown wider (computing what it did), to a larger crop (a warm start) or by identities
    /// (copies of a trained one), to go on training it.
    Widen(widen_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bundle(args) => bundle_cmd::run(args),
        Command::Render(args) => render_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Apply(args) => apply_cmd::run(args),
        Command::Extract(args) => extract_cmd::run(args),
        Command::Train(args) => train_cmd::run(args),
        Command::Evaluate(args) => evaluate_cmd::run(args),
        Command::Widen(args) => widen_cmd::run(args),
        Command::Info(args) => info_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faceswap: {e}");
            ExitCode::FAILURE
        }
    }
}
