//! `faceswap info`: what a model file holds, from its header alone (no weights read): identities, network shape,
//! training record (iterations, last losses, data, when, how), growth steps (`faceswap widen`), and whether
//! Adam's state sits beside it.

use faceswap_ofx::model::file::{self, ModelHeader, FORMAT_VERSION};
use faceswap_ofx::model::swapnet::SwapNetConfig;
use serde_json::Value;
use std::fmt::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The model file.
    pub model: PathBuf,
    /// Print the header's metadata as JSON (every field, the loss history included) instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<(), String> {
    let header = file::read_header(&args.model).map_err(|e| e.to_string())?;
    if args.json {
        let all = serde_json::json!({
            "format_version": FORMAT_VERSION,
            "identities": header.identities,
            "config": header.config,
            "template": header.template,
            "training": header.training,
        });
        println!("{}", serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?);
        return Ok(());
    }
    let adam = crate::train_cmd::optimizer_path(&args.model);
    print!("{}", summary(&args.model.display().to_string(), &header, adam.is_file()));
    Ok(())
}

/// Running mean over this many last steps: the figure the loss curve's legend and the model cards quote.
const LAST_STEPS: usize = 100;

fn summary(name: &str, header: &ModelHeader, adam_beside: bool) -> String {
    let mut out = String::new();
    let weights: u64 = header.tensors.values().map(|t| t.end - t.begin).sum();
    let _ = writeln!(out, "{name}: faceswap-ofx swap model, format version {FORMAT_VERSION}, {:.1} MB of weights", weights as f64 / 1e6);
    let _ = writeln!(out, "identities: {}", header.identities.join(", "));
    match serde_json::from_value::<SwapNetConfig>(header.config.clone()) {
        Ok(c) => {
            let _ = writeln!(out, "network: {}", c.summary());
        }
        Err(e) => {
            let _ = writeln!(out, "network: unreadable config ({e})");
        }
    }
    let t = &header.training;
    let iterations = t.get("iterations").and_then(Value::as_u64).unwrap_or(0);
    let _ = writeln!(out, "iterations: {iterations}");
    if let Some(losses) = last_losses(t, header.identities.len()) {
        let parts: Vec<String> = header.identities.iter().zip(&losses).map(|(n, l)| format!("{n} {l:.4}")).collect();
        let _ = writeln!(out, "loss (mean of the last {LAST_STEPS} steps): {}", parts.join(", "));
    }
    if let (Some(sets), Some(faces)) = (t.get("sets").and_then(Value::as_array), t.get("faces").and_then(Value::as_array)) {
        for (s, f) in sets.iter().zip(faces) {
            let _ = writeln!(out, "trained on: {} ({} faces)", s.as_str().unwrap_or("?"), f);
        }
    }
    let fields = [("learning_rate", "learning rate"), ("batch", "batch"), ("seed", "seed"), ("gan_weight", "GAN weight"), ("true_face", "true face"), ("warmup", "warm-up"), ("pose_borrowing", "pose borrowing"), ("frontal_borrowing", "frontal borrowing"), ("colour_borrowing", "colour borrowing"), ("context_borrowing", "context borrowing")];
    let settings: Vec<String> = fields.iter().filter_map(|(k, label)| t.get(*k).map(|v| format!("{label} {v}"))).collect();
    if !settings.is_empty() {
        let _ = writeln!(out, "last run: {}", settings.join(", "));
    }
    if let Some(secs) = t.get("seconds").and_then(Value::as_f64) {
        let when = t.get("saved_at_unix").and_then(Value::as_u64).map(utc).unwrap_or_else(|| "an unknown date".into());
        let _ = writeln!(out, "saved {when}, {secs:.0} s into its run");
    }
    if let Some(cmd) = t.get("command").and_then(Value::as_str) {
        let _ = writeln!(out, "command: {cmd}");
    }
    for w in t.get("widened").and_then(Value::as_array).into_iter().flatten() {
        let shape = |v: &Value| serde_json::from_value::<SwapNetConfig>(v.clone()).map(|c| c.summary()).unwrap_or_else(|_| "?".into());
        let _ = writeln!(out, "grown (faceswap widen) at iteration {}: from {} to {}", w["iteration"], shape(&w["from"]), shape(&w["to"]));
    }
    for a in t.get("added").and_then(Value::as_array).into_iter().flatten() {
        let names: Vec<&str> = a["identities"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let like = a["like"].as_str().unwrap_or("?");
        let _ = writeln!(out, "identities added (faceswap widen) at iteration {}: {} (copies of {like})", a["iteration"], names.join(", "));
    }
    let optimizer = match t.get("optimizer_iteration").and_then(Value::as_u64) {
        Some(i) if i == iterations && adam_beside => "saved beside it (--resume continues Adam)".to_string(),
        Some(i) if i == iterations => "recorded but the .adam file is not beside it (--resume restarts Adam)".to_string(),
        _ => "none for this checkpoint (--resume restarts Adam)".to_string(),
    };
    let _ = writeln!(out, "optimizer state: {optimizer}");
    out
}

/// Each identity's mean loss over the last [`LAST_STEPS`] steps of the history (`[[iteration, [loss...]], ...]`).
fn last_losses(training: &Value, identities: usize) -> Option<Vec<f32>> {
    let history: Vec<(u64, Vec<f32>)> = serde_json::from_value(training.get("history")?.clone()).ok()?;
    let tail = &history[history.len().saturating_sub(LAST_STEPS)..];
    if tail.is_empty() || tail.iter().any(|(_, l)| l.len() != identities) {
        return None;
    }
    Some((0..identities).map(|i| tail.iter().map(|(_, l)| l[i]).sum::<f32>() / tail.len() as f32).collect())
}

/// Seconds since 1970 as a UTC date and time (civil calendar from days, after Howard Hinnant's algorithm).
fn utc(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        // 2000-02-29 (a leap day of a century leap year) 12:34.
        assert_eq!(utc(951_827_640), "2000-02-29 12:34 UTC");
        assert_eq!(utc(1_796_513_217), "2026-12-05 23:26 UTC");
    }

    #[test]
    fn last_losses_average_the_tail_and_refuse_odd_histories() {
        let history: Vec<(u64, Vec<f32>)> = (1..=150).map(|i| (i, vec![if i > 50 { 1.0 } else { 9.0 }, 2.0])).collect();
        let t = serde_json::json!({ "history": history });
        assert_eq!(last_losses(&t, 2), Some(vec![1.0, 2.0]));
        assert_eq!(last_losses(&t, 3), None);
        assert_eq!(last_losses(&serde_json::json!({}), 2), None);
    }

    /// The shipped model's header reads into a summary naming what its card says.
    #[test]
    fn the_default_model_is_summarised() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.safetensors");
        let text = summary("default", &file::read_header(&path).unwrap(), false);
        assert!(text.contains("identities: s1, scientist"), "{text}");
        assert!(text.contains("network: 2 identities, 64 px, df"), "{text}");
        assert!(text.contains("loss (mean of the last 100 steps): s1 0.0"), "{text}");
        assert!(text.contains("(1194 faces)") && text.contains("(117 faces)"), "{text}");
        assert!(text.contains("optimizer state: recorded but"), "{text}");
        assert!(!text.contains("added"), "{text}");
    }

    /// Identities added by `faceswap widen --add-identity` are listed with what they copied and when.
    #[test]
    fn added_identities_are_listed() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.safetensors");
        let mut header = file::read_header(&path).unwrap();
        header.training["added"] = serde_json::json!([{"iteration": 37518, "identities": ["lbax4n", "sbia1a"], "like": "s1"}]);
        let text = summary("grown", &header, false);
        assert!(text.contains("identities added (faceswap widen) at iteration 37518: lbax4n, sbia1a (copies of s1)"), "{text}");
    }
}
