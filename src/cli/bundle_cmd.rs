//! `faceswap bundle`: pack the plug-in library built alongside this binary.

use faceswap_ofx::bundle;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Folder to write FaceSwap.ofx.bundle into.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// The plug-in library to pack (default: the one cargo built next to this binary).
    #[arg(long)]
    pub library: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<(), String> {
    let library = match args.library {
        Some(l) => l,
        None => {
            let exe = std::env::current_exe().map_err(|e| format!("cannot locate this program: {e}"))?;
            bundle::find_cdylib(&exe).ok_or_else(|| {
                format!("no plug-in library next to {}; build it with `cargo build --release` first", exe.display())
            })?
        }
    };
    std::fs::create_dir_all(&args.out).map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let path = bundle::pack(&library, &args.out).map_err(|e| format!("cannot write the bundle: {e}"))?;
    println!("{}", path.display());
    Ok(())
}
