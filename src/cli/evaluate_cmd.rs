//! `faceswap evaluate`: how well a model reconstructs the faces of a face set — mean SSIM on the face (inside
//! the landmark-hull mask), the figure model cards report on held-out footage.

use faceswap_ofx::faceset::FaceSet;
use faceswap_ofx::model::swap_model::SwapModel;
use faceswap_ofx::train::loss::dssim;
use burn::tensor::{Tensor, TensorData};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    /// A face set (ideally footage the model was not trained on).
    #[arg(long)]
    pub set: PathBuf,
    /// Decode as this identity (default: the face set's identity).
    #[arg(long)]
    pub identity: Option<String>,
    /// Faces per batch.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
}

pub fn run(args: Args) -> Result<(), String> {
    let device = faceswap_ofx::device::cpu();
    let model = SwapModel::load(&args.model, &device).map_err(|e| e.to_string())?;
    let set = FaceSet::open(&args.set).map_err(|e| e.to_string())?;
    let name = args.identity.unwrap_or_else(|| set.info.identity.clone());
    let identity = model.identity_index(&name).ok_or_else(|| format!("the model has no identity '{name}' (it has {:?})", model.identities))?;
    let res = model.config.resolution;
    let plane = res * res;
    let (mut sum, mut count) = (0.0f64, 0usize);
    for start in (0..set.items.len()).step_by(args.batch.max(1)) {
        let idx: Vec<usize> = (start..(start + args.batch.max(1)).min(set.items.len())).collect();
        let (mut x, mut m) = (Vec::new(), Vec::new());
        for &i in &idx {
            let s = set.load(i, res).map_err(|e| e.to_string())?;
            for c in 0..3 {
                x.extend((0..plane).map(|p| s.rgb[p * 3 + c]));
            }
            m.extend(s.mask);
        }
        let n = idx.len();
        let x = Tensor::<4>::from_data(TensorData::new(x, [n, 3, res, res]), &device);
        let mask = Tensor::<4>::from_data(TensorData::new(m, [n, 1, res, res]), &device).repeat_dim(1, 3);
        let out = model.net.forward(x.clone(), identity);
        let d = dssim(out.rgb * mask.clone(), x * mask);
        let d: f32 = d.try_into_data().map_err(|e| format!("{e:?}"))?.try_into_vec::<f32>().map_err(|e| format!("{e:?}"))?[0];
        // dssim = (1 − SSIM) / 2, averaged over the batch.
        sum += (1.0 - 2.0 * d as f64) * n as f64;
        count += n;
    }
    println!("{}: {count} faces of {} decoded as '{name}': mean masked SSIM {:.4}", args.model.display(), args.set.display(), sum / count.max(1) as f64);
    Ok(())
}
