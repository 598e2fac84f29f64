//! The swap-model file: safetensors weights whose header carries what the node and the trainer need.
//!
//! Layout: the standard safetensors file (8-byte little-endian header length, JSON header, tensor bytes). The
//! header's `__metadata__` map (string → string) holds:
//! - `format` = [`FORMAT`], `format_version` = [`FORMAT_VERSION`] (a decimal integer);
//! - `identities`: JSON array of identity names, in decoder order;
//! - `config`: JSON of the network configuration;
//! - `template`: JSON of the canonical face template the crops were aligned to;
//! - `training`: JSON of the training metadata (iterations, data, date, versions).
//!
//! Reading the header alone is cheap (the node lists identities without loading weights), and never trusts
//! the file: sizes are bounded before allocating, every field is checked.

use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const FORMAT: &str = "faceswap-ofx.swapnet";
pub const FORMAT_VERSION: u32 = 1;

/// Headers beyond this are refused before allocation: ours are a few tens of kB (names and shapes), and a
/// corrupted length field must not make us allocate gigabytes inside a host.
pub const MAX_HEADER_BYTES: u64 = 16 * 1024 * 1024;

/// Identities a model may name. A network carries one decoder (or inter block) per identity; the names also
/// become the host's Identity menu, so a damaged list of millions of names must not reach either.
pub const MAX_IDENTITIES: usize = 256;

/// Characters an identity name may have (it is a menu label).
pub const MAX_IDENTITY_NAME_CHARS: usize = 256;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("cannot read model file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is truncated: {what}")]
    Truncated { path: PathBuf, what: String },
    #[error("{path} is not a safetensors model file ({why})")]
    NotSafetensors { path: PathBuf, why: String },
    #[error("{path} declares a {size}-byte header, more than the {max} bytes a model header may have")]
    HeaderTooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("{path} is a safetensors file but not a faceswap-ofx model (format '{found}')")]
    Foreign { path: PathBuf, found: String },
    #[error("{path} has model format version {found}; this build reads version {supported}: re-export or retrain it")]
    UnsupportedVersion { path: PathBuf, found: String, supported: u32 },
    #[error("{path} has an invalid '{key}' entry: {why}")]
    BadMetadata { path: PathBuf, key: &'static str, why: String },
}

/// What the header says about the model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelHeader {
    pub identities: Vec<String>,
    pub config: Value,
    pub template: Value,
    pub training: Value,
    /// Tensor name → (dtype, shape, byte range) as declared.
    pub tensors: HashMap<String, TensorEntry>,
    /// Where the tensor bytes start in the file.
    pub data_offset: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorEntry {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub begin: u64,
    pub end: u64,
}

/// Reads and validates the header of a model file, without reading the weights.
pub fn read_header(path: &Path) -> Result<ModelHeader, ModelError> {
    let io = |source| ModelError::Io { path: path.to_owned(), source };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let file_len = file.metadata().map_err(io)?.len();
    let mut len_bytes = [0u8; 8];
    file.read_exact(&mut len_bytes).map_err(|e| truncated_or_io(path, e, "no header length"))?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > MAX_HEADER_BYTES {
        return Err(ModelError::HeaderTooLarge { path: path.to_owned(), size: header_len, max: MAX_HEADER_BYTES });
    }
    if 8 + header_len > file_len {
        return Err(ModelError::Truncated { path: path.to_owned(), what: format!("header of {header_len} bytes in a {file_len}-byte file") });
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header).map_err(|e| truncated_or_io(path, e, "header"))?;
    parse_header(path, &header, 8 + header_len, file_len)
}

fn truncated_or_io(path: &Path, e: std::io::Error, what: &str) -> ModelError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        ModelError::Truncated { path: path.to_owned(), what: what.to_owned() }
    } else {
        ModelError::Io { path: path.to_owned(), source: e }
    }
}

fn parse_header(path: &Path, bytes: &[u8], data_offset: u64, file_len: u64) -> Result<ModelHeader, ModelError> {
    let not_st = |why: String| ModelError::NotSafetensors { path: path.to_owned(), why };
    let json: Value = serde_json::from_slice(bytes).map_err(|e| not_st(format!("header is not JSON: {e}")))?;
    let obj = json.as_object().ok_or_else(|| not_st("header is not a JSON object".into()))?;
    let meta = obj.get("__metadata__").and_then(Value::as_object);
    let meta_str = |key: &str| meta.and_then(|m| m.get(key)).and_then(Value::as_str);
    let format = meta_str("format").unwrap_or("");
    if format != FORMAT {
        return Err(ModelError::Foreign { path: path.to_owned(), found: format.to_owned() });
    }
    let version = meta_str("format_version").unwrap_or("");
    if version.parse::<u32>().ok() != Some(FORMAT_VERSION) {
        return Err(ModelError::UnsupportedVersion { path: path.to_owned(), found: version.to_owned(), supported: FORMAT_VERSION });
    }
    let bad = |key: &'static str, why: String| ModelError::BadMetadata { path: path.to_owned(), key, why };
    let json_field = |key: &'static str| -> Result<Value, ModelError> {
        let text = meta_str(key).ok_or_else(|| bad(key, "missing".into()))?;
        serde_json::from_str(text).map_err(|e| bad(key, format!("not JSON: {e}")))
    };
    let identities: Vec<String> = serde_json::from_value(json_field("identities")?)
        .map_err(|e| bad("identities", format!("not a list of names: {e}")))?;
    check_identities(&identities).map_err(|why| bad("identities", why))?;
    let mut tensors = HashMap::new();
    let data_len = file_len - data_offset;
    for (name, entry) in obj.iter().filter(|(k, _)| k.as_str() != "__metadata__") {
        let t = parse_tensor(entry).map_err(|why| not_st(format!("tensor '{name}': {why}")))?;
        if t.end > data_len {
            return Err(ModelError::Truncated { path: path.to_owned(), what: format!("tensor '{name}' ends past the end of the file") });
        }
        tensors.insert(name.clone(), t);
    }
    check_tiling(&tensors, data_len).map_err(not_st)?;
    Ok(ModelHeader {
        identities,
        config: json_field("config")?,
        template: json_field("template")?,
        training: json_field("training")?,
        tensors,
        data_offset,
    })
}

/// The rules a model's identity names follow (the loader refuses a file that breaks them; growing a model checks
/// its new list with the same rules).
pub fn check_identities(names: &[String]) -> Result<(), String> {
    if names.is_empty() || names.iter().any(|n| n.trim().is_empty()) {
        return Err("needs at least one non-empty name".into());
    }
    if names.len() > MAX_IDENTITIES {
        return Err(format!("{} names, more than the {MAX_IDENTITIES} a model may have", names.len()));
    }
    match names.iter().find(|n| n.chars().count() > MAX_IDENTITY_NAME_CHARS || n.chars().any(char::is_control)) {
        Some(n) => Err(format!("the name '{}' is longer than {MAX_IDENTITY_NAME_CHARS} characters or has control characters", n.escape_debug())),
        None => Ok(()),
    }
}

/// The tensors' byte ranges must tile the data area exactly, as the safetensors format requires: no gaps, no
/// overlaps, nothing after the last tensor. Overlapping ranges would let a small file declare far more tensor
/// bytes than it holds, and trailing bytes would be read into memory for nothing.
fn check_tiling(tensors: &HashMap<String, TensorEntry>, data_len: u64) -> Result<(), String> {
    let mut ranges: Vec<(u64, u64, &str)> = tensors.iter().map(|(n, t)| (t.begin, t.end, n.as_str())).collect();
    ranges.sort_unstable();
    let mut at = 0;
    for (begin, end, name) in ranges {
        if begin != at {
            return Err(format!("tensor '{name}' starts at byte {begin} of the data, expected {at} (gap or overlap)"));
        }
        at = end;
    }
    if at != data_len {
        return Err(format!("the tensors cover {at} bytes of data but the file holds {data_len}"));
    }
    Ok(())
}

fn parse_tensor(v: &Value) -> Result<TensorEntry, String> {
    let dtype = v.get("dtype").and_then(Value::as_str).ok_or("no dtype")?.to_owned();
    let shape = v
        .get("shape")
        .and_then(Value::as_array)
        .ok_or("no shape")?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize).ok_or("shape entry is not a whole number"))
        .collect::<Result<Vec<_>, _>>()?;
    let offsets = v.get("data_offsets").and_then(Value::as_array).ok_or("no data_offsets")?;
    let (Some(begin), Some(end)) = (offsets.first().and_then(Value::as_u64), offsets.get(1).and_then(Value::as_u64)) else {
        return Err("data_offsets is not two whole numbers".into());
    };
    let elem = match dtype.as_str() {
        "F32" | "I32" | "U32" => 4,
        "F16" | "BF16" | "I16" | "U16" => 2,
        "F64" | "I64" | "U64" => 8,
        "U8" | "I8" | "BOOL" => 1,
        other => return Err(format!("unknown dtype {other}")),
    };
    let count = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).ok_or("shape overflows")?;
    if begin > end || end - begin != count.checked_mul(elem).ok_or("size overflows")? {
        return Err(format!("byte range {begin}..{end} does not match shape {shape:?} of {dtype}"));
    }
    Ok(TensorEntry { dtype, shape, begin, end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    }

    fn model_bytes(meta: &[(&str, &str)], tensor_bytes: usize) -> Vec<u8> {
        let meta: serde_json::Map<String, Value> = meta.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
        let header = serde_json::json!({
            "__metadata__": meta,
            "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        });
        let h = serde_json::to_vec(&header).unwrap();
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&h);
        out.extend(std::iter::repeat_n(0u8, tensor_bytes));
        out
    }

    fn good_meta() -> Vec<(&'static str, &'static str)> {
        vec![
            ("format", FORMAT),
            ("format_version", "1"),
            ("identities", r#"["s1","scientist"]"#),
            ("config", "{}"),
            ("template", "{}"),
            ("training", "{}"),
        ]
    }

    #[test]
    fn reads_a_good_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "m.safetensors", &model_bytes(&good_meta(), 16));
        let h = read_header(&p).unwrap();
        assert_eq!(h.identities, ["s1", "scientist"]);
        assert_eq!(h.tensors["w"].shape, [2, 2]);
    }

    #[test]
    fn every_kind_of_bad_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let good = model_bytes(&good_meta(), 16);
        let mut foreign = good_meta();
        foreign[0] = ("format", "pytorch");
        let mut future = good_meta();
        future[1] = ("format_version", "99");
        let mut nameless = good_meta();
        nameless[2] = ("identities", "[]");
        let cases: Vec<(&str, Vec<u8>, fn(&ModelError) -> bool)> = vec![
            ("empty", vec![], |e| matches!(e, ModelError::Truncated { .. })),
            ("png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), |e| matches!(e, ModelError::HeaderTooLarge { .. })),
            ("short header", good[..20].to_vec(), |e| matches!(e, ModelError::Truncated { .. })),
            ("short data", good[..good.len() - 4].to_vec(), |e| matches!(e, ModelError::Truncated { .. })),
            ("not json", [8u64.to_le_bytes().to_vec(), b"notjson!".to_vec()].concat(), |e| matches!(e, ModelError::NotSafetensors { .. })),
            ("foreign", model_bytes(&foreign, 16), |e| matches!(e, ModelError::Foreign { .. })),
            ("future", model_bytes(&future, 16), |e| matches!(e, ModelError::UnsupportedVersion { .. })),
            ("nameless", model_bytes(&nameless, 16), |e| matches!(e, ModelError::BadMetadata { key: "identities", .. })),
        ];
        for (name, bytes, expected) in cases {
            let p = write_file(dir.path(), name, &bytes);
            let err = read_header(&p).expect_err(name);
            assert!(expected(&err), "{name}: {err}");
        }
        let missing = read_header(&dir.path().join("nope")).unwrap_err();
        assert!(matches!(missing, ModelError::Io { .. }));
    }

    /// A header whose tensors and metadata are given as JSON, followed by `data_len` zero bytes.
    fn raw_model(tensors: Value, identities: &str, data_len: usize) -> Vec<u8> {
        let mut header = tensors;
        let mut meta = good_meta();
        meta[2] = ("identities", identities);
        let meta: serde_json::Map<String, Value> = meta.iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect();
        header["__metadata__"] = Value::Object(meta);
        let h = serde_json::to_vec(&header).unwrap();
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&h);
        out.resize(out.len() + data_len, 0);
        out
    }

    /// Found reviewing the loader for its fuzz target: ranges were only checked against the file's end, so two tensors
    /// could share bytes and a small file could declare more tensor data than it holds.
    #[test]
    fn overlapping_or_gapped_tensor_ranges_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let t = |b: u64, e: u64| serde_json::json!({"dtype": "F32", "shape": [(e - b) / 4], "data_offsets": [b, e]});
        let cases = [
            ("overlap", serde_json::json!({"a": t(0, 16), "b": t(0, 16)}), 16),
            ("gap", serde_json::json!({"a": t(0, 8), "b": t(12, 16)}), 16),
            ("trailing bytes", serde_json::json!({"a": t(0, 16)}), 4096),
        ];
        for (name, tensors, data_len) in cases {
            let p = write_file(dir.path(), name, &raw_model(tensors, r#"["a","b"]"#, data_len));
            let err = read_header(&p).expect_err(name);
            assert!(matches!(err, ModelError::NotSafetensors { .. }), "{name}: {err}");
        }
        let tiled = serde_json::json!({"a": t(0, 8), "b": t(8, 16), "empty": t(16, 16)});
        let p = write_file(dir.path(), "tiled", &raw_model(tiled, r#"["a","b"]"#, 16));
        assert_eq!(read_header(&p).unwrap().tensors.len(), 3);
    }

    /// Found reviewing the loader for its fuzz target: a header could name millions of identities (each would become a
    /// decoder and a menu entry); names could hold control characters or be megabytes long.
    #[test]
    fn absurd_identity_lists_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let tensors = serde_json::json!({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}});
        let many = serde_json::to_string(&(0..MAX_IDENTITIES + 1).map(|i| i.to_string()).collect::<Vec<_>>()).unwrap();
        let long = serde_json::to_string(&["a".repeat(MAX_IDENTITY_NAME_CHARS + 1), "b".into()]).unwrap();
        for (name, identities) in [("many", many.as_str()), ("long", long.as_str()), ("control", r#"["a\u0000b","c"]"#)] {
            let p = write_file(dir.path(), name, &raw_model(tensors.clone(), identities, 16));
            let err = read_header(&p).expect_err(name);
            assert!(matches!(err, ModelError::BadMetadata { key: "identities", .. }), "{name}: {err}");
        }
        let most = serde_json::to_string(&(0..MAX_IDENTITIES).map(|i| format!("person {i}")).collect::<Vec<_>>()).unwrap();
        let p = write_file(dir.path(), "most", &raw_model(tensors, &most, 16));
        assert_eq!(read_header(&p).unwrap().identities.len(), MAX_IDENTITIES);
    }
}
