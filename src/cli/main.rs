//! `faceswap`: the command-line side of the node. Parses arguments into validated settings, runs one
//! subcommand, and reports failure in one place.

mod bundle_cmd;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bundle(args) => bundle_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faceswap: {e}");
            ExitCode::FAILURE
        }
    }
}
