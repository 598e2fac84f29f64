//! Growing a trained swap model wider without starting over: Net2Net's function-preserving widening (Chen,
//! Goodfellow and Shlens, 2016). Every new encoder channel, bottleneck unit, latent or decoder channel copies an
//! existing one, and every layer reading a copied unit splits that unit's weights between its copies, so the
//! wider network computes what the narrow one did (up to float rounding). Training then goes on (`faceswap
//! train --resume` with the new widths) from the narrow model's quality instead of from noise, with the extra
//! capacity free to learn detail.
//!
//! The split is not even: each reader's shares are jittered (they still sum to one). With even shares the copies
//! would get identical gradients and stay identical for ever, so the extra width would never be used.
//!
//! **Resolution.** The same copying grows a model to a larger crop by a whole factor f (64 → 128 px: f = 2), as
//! Disney's high-resolution face swapping trains its comb network progressively, small crops first. Every
//! convolution is blind to the crop's size and keeps its weights; only the inter block's two dense layers see the
//! `res/16` grid: each cell of the new grid copies the old cell it lies in (f² copies), the bottleneck reading
//! them with split weights (an average over the f×f block) and the grid rebuilt from the bottleneck repeated
//! into f×f blocks. That part is exact (a grid repeated f×f gives the old bottleneck; the rebuilt grid is the old
//! one repeated), but the convolutions now see faces twice as many pixels wide with the same 3×3 and 5×5
//! kernels, so the grown model is a warm start, not the old function: training at the new resolution takes it
//! from there.
//!
//! **Identities.** [`add_identities`] grows the comb by a column instead: a new identity's decoder (DF) or inter
//! block (LIAE) starts as a copy of a trained one's, so a model learns a new face without starting over.

use super::augment::Rng;
use crate::model::swap_model::SwapModel;
use crate::model::swapnet::{Arch, SwapNet, SwapNetConfig};
use crate::model::weights;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// How far a copy's share of a weight strays from an even split: (1 ± 0.2) / copies. Enough that the copies'
/// gradients differ from the first step; small enough that no share comes near zero or changes sign (with two
/// copies the shares stay within 0.4-0.6, with three the last one is at least 0.2).
const SHARE_JITTER: f32 = 0.2;

/// One index of a widened layer dimension: the old index it copies, which copy it is, and how many there are.
#[derive(Clone, Copy, Debug)]
struct Unit {
    old: usize,
    rank: usize,
    copies: usize,
}

/// A widened dimension, one [`Unit`] per new index.
#[derive(Clone, Debug)]
struct Axis(Vec<Unit>);

impl Axis {
    fn fixed(n: usize) -> Axis {
        Axis::widen(n, n)
    }

    /// `n` units grown to `m`: new unit j copies old unit j mod n (round robin: copies spread evenly).
    fn widen(n: usize, m: usize) -> Axis {
        Axis((0..m).map(|j| Unit { old: j % n, rank: j / n, copies: m / n + usize::from(j % n < m % n) }).collect())
    }

    /// Every unit expanded to `f` consecutive indices: the channel-major layout of a depth-to-space upscale's
    /// convolution (f = 4 sub-pixels per output channel).
    fn inner(&self, f: usize) -> Axis {
        Axis(self.0.iter().flat_map(|u| (0..f).map(move |k| Unit { old: u.old * f + k, ..*u })).collect())
    }

    /// A flattened C×s×s map (channel-major, rows then columns) grown to C'×t×t, t = f·s: every new cell copies
    /// the old cell its f×f block stands for, on top of the channel's own copying (`self`, the channel axis).
    fn spatial(&self, s: usize, t: usize) -> Axis {
        let f = t / s;
        Axis(
            self.0
                .iter()
                .flat_map(|u| {
                    (0..t * t).map(move |cell| {
                        let (y, x) = (cell / t, cell % t);
                        Unit { old: u.old * s * s + (y / f) * s + x / f, rank: u.rank * f * f + (y % f) * f + x % f, copies: u.copies * f * f }
                    })
                })
                .collect(),
        )
    }

    /// Two dimensions side by side (LIAE's decoder reads its identity's latent and the common one, concatenated).
    fn concat(&self, other: &Axis) -> Axis {
        let n = self.old_len();
        Axis(self.0.iter().copied().chain(other.0.iter().map(|u| Unit { old: u.old + n, ..*u })).collect())
    }

    fn old_len(&self) -> usize {
        self.0.iter().filter(|u| u.rank == 0).count()
    }

    /// Each index's share of its old unit's weight, for one reading output: jittered, summing to one per unit.
    fn shares(&self, rng: &mut Rng) -> Vec<f32> {
        let mut given = vec![0.0f32; self.old_len()];
        let mut shares = vec![1.0f32; self.0.len()];
        for (s, u) in shares.iter_mut().zip(&self.0).filter(|(_, u)| u.rank + 1 < u.copies) {
            *s = (1.0 + rng.uniform(-SHARE_JITTER, SHARE_JITTER)) / u.copies as f32;
            given[u.old] += *s;
        }
        // The last copy takes what is left, so that the shares of every unit sum to one.
        for (s, u) in shares.iter_mut().zip(&self.0).filter(|(_, u)| u.copies > 1 && u.rank + 1 == u.copies) {
            *s = 1.0 - given[u.old];
        }
        shares
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Weight `[out, in, kh, kw]`.
    Conv,
    /// Weight `[in, out]` (Burn's `Linear`).
    Linear,
}

/// A layer with a weight and a bias, and how its input and output dimensions grow.
struct Layer {
    name: String,
    kind: Kind,
    input: Axis,
    output: Axis,
}

fn layer(name: String, kind: Kind, input: &Axis, output: &Axis) -> Layer {
    Layer { name, kind, input: input.clone(), output: output.clone() }
}

/// Every layer of the network, named as in the model file, with the growth of its dimensions. Mirrors
/// `SwapNetConfig::init` and the blocks' `init`; the test that the widened net computes the narrow net's
/// output (and the check that every tensor of the file is accounted for) catch any drift between the two.
fn layers(from: &SwapNetConfig, to: &SwapNetConfig) -> Vec<Layer> {
    let (side, new_side) = (from.resolution / 16, to.resolution / 16);
    let enc: Vec<Axis> = (0..4).map(|k| Axis::widen(from.encoder_channels << k, to.encoder_channels << k)).collect();
    let latent = Axis::widen(from.latent_channels(), to.latent_channels());
    let bottleneck = Axis::widen(from.bottleneck, to.bottleneck);
    let mut out = Vec::new();
    for (k, e) in enc.iter().enumerate() {
        let input = if k == 0 { Axis::fixed(3) } else { enc[k - 1].clone() };
        out.push(layer(format!("encoder.convs.{k}"), Kind::Conv, &input, e));
    }
    let (inters, decoders, decoder_in) = match from.arch {
        Arch::Df => (1, from.identities, latent.clone()),
        Arch::Liae => (from.identities, 1, latent.concat(&latent)),
    };
    for i in 0..inters {
        out.push(layer(format!("inters.{i}.dense_in"), Kind::Linear, &enc[3].spatial(side, new_side), &bottleneck));
        out.push(layer(format!("inters.{i}.dense_out"), Kind::Linear, &bottleneck, &latent.spatial(side, new_side)));
        out.push(layer(format!("inters.{i}.up.conv"), Kind::Conv, &latent, &latent.inner(4)));
    }
    // The decoder's levels: `channels` × 4, × 2, × 1; its mask branch half as wide.
    let rgb: Vec<Axis> = (0..3).map(|k| Axis::widen(from.decoder_channels << (2 - k), to.decoder_channels << (2 - k))).collect();
    let mask: Vec<Axis> =
        (0..3).map(|k| Axis::widen((from.decoder_channels << (2 - k)) / 2, (to.decoder_channels << (2 - k)) / 2)).collect();
    for d in 0..decoders {
        for k in 0..3 {
            let (rgb_in, mask_in) = if k == 0 { (&decoder_in, &decoder_in) } else { (&rgb[k - 1], &mask[k - 1]) };
            out.push(layer(format!("decoders.{d}.ups.{k}.conv"), Kind::Conv, rgb_in, &rgb[k].inner(4)));
            out.push(layer(format!("decoders.{d}.res.{k}.a"), Kind::Conv, &rgb[k], &rgb[k]));
            // The residual's sum needs its second convolution's copies laid out as its input's: same axis.
            out.push(layer(format!("decoders.{d}.res.{k}.b"), Kind::Conv, &rgb[k], &rgb[k]));
            out.push(layer(format!("decoders.{d}.mask_ups.{k}.conv"), Kind::Conv, mask_in, &mask[k].inner(4)));
        }
        out.push(layer(format!("decoders.{d}.rgb_head"), Kind::Conv, &rgb[2], &Axis::fixed(3)));
        out.push(layer(format!("decoders.{d}.mask_head"), Kind::Conv, &mask[2], &Axis::fixed(1)));
    }
    out
}

/// A float32 tensor taken out of (or going into) a safetensors buffer.
#[derive(Clone)]
struct Plain {
    shape: Vec<usize>,
    data: Vec<f32>,
}

fn plain(view: &TensorView) -> Plain {
    Plain { shape: view.shape().to_vec(), data: view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect() }
}

/// The widened weight and bias of one layer.
fn widen_layer(l: &Layer, weight: &Plain, bias: &Plain, rng: &mut Rng) -> Result<(Plain, Plain), String> {
    let (n_in, n_out) = (l.input.old_len(), l.output.old_len());
    let (m_in, m_out) = (l.input.0.len(), l.output.0.len());
    let kernel: usize = match l.kind {
        Kind::Conv => weight.shape.get(2..).map(|k| k.iter().product()).unwrap_or(0),
        Kind::Linear => 1,
    };
    let expected = match l.kind {
        Kind::Conv => weight.shape.get(2..).map(|k| [&[n_out, n_in][..], k].concat()),
        Kind::Linear => Some(vec![n_in, n_out]),
    };
    if expected.as_deref() != Some(&weight.shape[..]) || bias.shape != [n_out] {
        return Err(format!("{}: weight {:?} and bias {:?} do not match the model's configuration", l.name, weight.shape, bias.shape));
    }
    let mut w = vec![0.0f32; m_out * m_in * kernel];
    for (o, uo) in l.output.0.iter().enumerate() {
        let shares = l.input.shares(rng);
        for (i, (ui, share)) in l.input.0.iter().zip(&shares).enumerate() {
            let (new_at, old_at) = match l.kind {
                Kind::Conv => ((o * m_in + i) * kernel, (uo.old * n_in + ui.old) * kernel),
                Kind::Linear => (i * m_out + o, ui.old * n_out + uo.old),
            };
            for k in 0..kernel {
                w[new_at + k] = weight.data[old_at + k] * share;
            }
        }
    }
    let shape = match l.kind {
        Kind::Conv => [&[m_out, m_in][..], &weight.shape[2..]].concat(),
        Kind::Linear => vec![m_in, m_out],
    };
    let b = l.output.0.iter().map(|u| bias.data[u.old]).collect();
    Ok((Plain { shape, data: w }, Plain { shape: vec![m_out], data: b }))
}

/// Checks that `to` only grows `from`'s widths and resolution (by a whole factor).
fn check_growth(from: &SwapNetConfig, to: &SwapNetConfig) -> Result<(), String> {
    to.validate()?;
    if (from.identities, from.arch) != (to.identities, to.arch) {
        return Err("growing keeps the identities and the architecture; train a new model to change them".into());
    }
    // A whole factor of the res/16 grid, so that every new cell lies in exactly one old cell.
    let (side, new_side) = (from.resolution / 16, to.resolution / 16);
    if new_side < side || new_side % side != 0 {
        return Err(format!(
            "resolution {} is not the model's {} times a whole factor (for example {})",
            to.resolution,
            from.resolution,
            2 * from.resolution
        ));
    }
    let widths = [
        ("encoder channels", from.encoder_channels, to.encoder_channels),
        ("decoder channels", from.decoder_channels, to.decoder_channels),
        ("bottleneck", from.bottleneck, to.bottleneck),
    ];
    if let Some((what, a, b)) = widths.iter().find(|(_, a, b)| b < a) {
        return Err(format!("{what} {b} is narrower than the model's {a}: a model can only be widened"));
    }
    if widths.iter().all(|(_, a, b)| a == b) && new_side == side {
        return Err(format!(
            "the model already has this resolution and these widths ({} px, encoder {}, decoder {}, bottleneck {})",
            from.resolution, from.encoder_channels, from.decoder_channels, from.bottleneck
        ));
    }
    if from.decoder_channels < 2 {
        return Err("a model with 1 decoder channel has an empty mask branch: nothing to copy from".into());
    }
    Ok(())
}

/// `model` with the widths and resolution of `to` (same identities and architecture): computing the same output
/// when only widths grow, a warm start when the resolution does (module doc). `seed` draws the share jitter.
/// The training record keeps the iteration count and loss history, notes the growth step, and drops the
/// optimizer-state marker (Adam's state has the old shapes: a resumed run restarts it).
pub fn widen(model: &SwapModel, to: &SwapNetConfig, seed: u64, device: &Device) -> Result<SwapModel, String> {
    let from = &model.config;
    check_growth(from, to)?;
    let bytes = weight_bytes(model)?;
    let old = SafeTensors::deserialize(&bytes).map_err(|e| e.to_string())?;
    let get = |name: &str| old.tensor(name).map(|v| plain(&v)).map_err(|e| format!("{name}: {e}"));
    let mut rng = Rng::new(seed);
    let mut new: BTreeMap<String, Plain> = BTreeMap::new();
    for l in layers(from, to) {
        let (w, b) = widen_layer(&l, &get(&format!("{}.weight", l.name))?, &get(&format!("{}.bias", l.name))?, &mut rng)?;
        new.insert(format!("{}.weight", l.name), w);
        new.insert(format!("{}.bias", l.name), b);
    }
    if let Some(name) = old.names().into_iter().find(|n| !new.contains_key(*n)) {
        return Err(format!("tensor {name} has no widening rule (the network changed without this module)"));
    }
    let net = build(to, new, "widened weights", device)?;
    let step = json!({
        "from": serde_json::to_value(&model.config).unwrap_or_default(),
        "to": serde_json::to_value(to).unwrap_or_default(),
        "seed": seed,
    });
    Ok(SwapModel {
        net,
        config: to.clone(),
        identities: model.identities.clone(),
        template: model.template.clone(),
        training: record(model, "widened", step),
    })
}

/// `model` with one more identity for each of `names`, appended after its own: each new decoder (DF) or inter
/// block (LIAE) a copy of identity `like`'s, everything shared untouched. The model decodes its old identities
/// exactly as before, and each new one as `like` until training (`faceswap train --resume` with a face set per
/// identity, old and new) teaches it the difference (Disney's comb network grown by a column).
/// Starting from a decoder that already draws a similar face is the design's bet; measured on the default model
/// (README, "Growing a model instead of starting over"), not against a decoder started from noise.
/// The training record notes the step and drops the optimizer-state marker (Adam's state has no entry for the
/// new parts: a resumed run restarts it).
pub fn add_identities(model: &SwapModel, names: &[String], like: &str, device: &Device) -> Result<SwapModel, String> {
    let from = model.identity_index(like).ok_or_else(|| format!("the model has no identity {like:?} (it has {:?})", model.identities))?;
    if names.is_empty() {
        return Err("no identity to add".into());
    }
    let mut identities = model.identities.clone();
    for name in names {
        if identities.contains(name) {
            return Err(format!("the model already has an identity {name:?}"));
        }
        identities.push(name.clone());
    }
    // The names the loader accepts: a grown model must load again.
    crate::model::file::check_identities(&identities).map_err(|why| format!("identity names: {why}"))?;
    let to = SwapNetConfig { identities: identities.len(), ..model.config.clone() };
    to.validate()?;
    // The per-identity part's weights are named `<part>.<identity>.<rest>` (SwapNet's doc).
    let part = match model.config.arch {
        Arch::Df => "decoders",
        Arch::Liae => "inters",
    };
    let bytes = weight_bytes(model)?;
    let old = SafeTensors::deserialize(&bytes).map_err(|e| e.to_string())?;
    let copied = format!("{part}.{from}.");
    let mut new = BTreeMap::new();
    for name in old.names() {
        let tensor = plain(&old.tensor(name).map_err(|e| format!("{name}: {e}"))?);
        if let Some(rest) = name.strip_prefix(&copied) {
            for id in model.identities.len()..identities.len() {
                new.insert(format!("{part}.{id}.{rest}"), tensor.clone());
            }
        }
        new.insert(name.to_string(), tensor);
    }
    let net = build(&to, new, "grown weights", device)?;
    let step = json!({ "identities": names, "like": like });
    Ok(SwapModel { net, config: to, identities, template: model.template.clone(), training: record(model, "added", step) })
}

/// The network's weights as a safetensors buffer.
fn weight_bytes(model: &SwapModel) -> Result<Vec<u8>, String> {
    let mut store = SafetensorsStore::from_bytes(None);
    model.net.save_into(&mut store).map_err(|e| e.to_string())?;
    store.get_bytes().map_err(|e| e.to_string())
}

/// A network of shape `to` holding exactly `tensors` (every weight, none left over: the loader checks).
fn build(to: &SwapNetConfig, tensors: BTreeMap<String, Plain>, what: &str, device: &Device) -> Result<SwapNet, String> {
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> =
        tensors.into_iter().map(|(name, p)| (name, p.shape, p.data.iter().flat_map(|v| v.to_le_bytes()).collect())).collect();
    let views = raw
        .iter()
        .map(|(name, shape, data)| TensorView::new(Dtype::F32, shape.clone(), data).map(|v| (name.as_str(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let bytes = safetensors::serialize(views, None::<HashMap<String, String>>).map_err(|e| e.to_string())?;
    weights::load_bytes_into(to.init(device), bytes, Path::new(what)).map_err(|e| e.to_string())
}

/// `model`'s training record with `step` (stamped with the iteration it was taken at) appended to the list under
/// `key`, and without the optimizer-state marker (the grown network's parameters are not the ones Adam's saved
/// state was for).
fn record(model: &SwapModel, key: &str, mut step: Value) -> Value {
    let mut training = match &model.training {
        Value::Object(map) => map.clone(),
        _ => Default::default(),
    };
    training.remove("optimizer_iteration");
    if let Value::Object(s) = &mut step {
        s.insert("iteration".into(), training.get("iterations").cloned().unwrap_or(json!(0)));
    }
    match training.get_mut(key).and_then(|v| v.as_array_mut()) {
        Some(steps) => steps.push(step),
        None => {
            training.insert(key.into(), json!([step]));
        }
    }
    Value::Object(training)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::align::FaceTemplate;
    use burn::module::Module;
    use burn::tensor::{Tensor, TensorData};

    fn model(arch: Arch, device: &Device) -> SwapModel {
        let config = SwapNetConfig::new(32, 3).with_arch(arch).with_encoder_channels(4).with_decoder_channels(4).with_bottleneck(8);
        device.seed(7);
        SwapModel {
            net: config.init(device),
            config,
            identities: vec!["a".into(), "b".into(), "c".into()],
            template: FaceTemplate::default(),
            training: json!({"iterations": 1234, "optimizer_iteration": 1234, "history": [[0.5, 0.4, 0.3]]}),
        }
    }

    fn outputs(m: &SwapModel, identity: usize, device: &Device) -> Vec<f32> {
        let x: Vec<f32> = (0..2 * 3 * 32 * 32).map(|i| ((i * 37) % 101) as f32 / 101.0).collect();
        let out = m.net.forward(Tensor::<4>::from_data(TensorData::new(x, [2, 3, 32, 32]), device), identity);
        let mut v: Vec<f32> = out.rgb.try_into_data().unwrap().try_into_vec().unwrap();
        v.extend(out.mask.try_into_data().unwrap().try_into_vec::<f32>().unwrap());
        v
    }

    /// Every weight and bias of the network, by name.
    fn tensors(m: &SwapModel) -> HashMap<String, Plain> {
        let mut store = SafetensorsStore::from_bytes(None);
        m.net.save_into(&mut store).unwrap();
        let bytes = store.get_bytes().unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        st.names().into_iter().map(|n| (n.to_string(), plain(&st.tensor(n).unwrap()))).collect()
    }

    fn wider(m: &SwapModel, enc: usize, dec: usize, bottleneck: usize) -> SwapNetConfig {
        m.config.clone().with_encoder_channels(enc).with_decoder_channels(dec).with_bottleneck(bottleneck)
    }

    /// The point of widening: the wider model starts where the narrow one was, for both architectures, every
    /// identity, and widths that are not multiples of the old ones (units copied once or not at all).
    #[test]
    fn the_wider_model_computes_what_the_narrow_one_did() {
        let device = crate::device::cpu();
        for arch in [Arch::Df, Arch::Liae] {
            let narrow = model(arch, &device);
            for (enc, dec, bottleneck) in [(8, 8, 16), (6, 5, 13), (4, 7, 8)] {
                let wide = widen(&narrow, &wider(&narrow, enc, dec, bottleneck), 1, &device).unwrap();
                assert!(wide.net.num_params() > narrow.net.num_params());
                for identity in 0..3 {
                    let (a, b) = (outputs(&narrow, identity, &device), outputs(&wide, identity, &device));
                    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
                    // Float rounding only: the split weights' products are summed in another order (and the
                    // shares themselves rounded); outputs are sigmoids in [0, 1].
                    assert!(worst < 1e-5, "{arch:?} {enc}/{dec}/{bottleneck} identity {identity}: {worst}");
                }
            }
        }
    }

    /// Copies must not be exact duplicates, or training could never tell them apart.
    #[test]
    fn copies_get_different_shares_that_sum_to_the_old_weight() {
        let device = crate::device::cpu();
        let narrow = model(Arch::Df, &device);
        let wide = widen(&narrow, &wider(&narrow, 4, 8, 8), 1, &device).unwrap();
        let head = |m: &SwapModel| tensors(m).remove("decoders.1.rgb_head.weight").unwrap();
        let (old, new) = (head(&narrow), head(&wide));
        // rgb_head reads 4 channels, now 8: channel c and c + 4 are the two copies of old channel c.
        assert_eq!((old.shape.clone(), new.shape.clone()), (vec![3, 4, 3, 3], vec![3, 8, 3, 3]));
        let at = |shape: &[usize], o: usize, i: usize, k: usize| (o * shape[1] + i) * 9 + k;
        for (o, c, k) in [(0, 0, 0), (1, 2, 4), (2, 3, 8)] {
            let (a, b) = (new.data[at(&new.shape, o, c, k)], new.data[at(&new.shape, o, c + 4, k)]);
            let w = old.data[at(&old.shape, o, c, k)];
            assert!((a + b - w).abs() <= 1e-6 * w.abs().max(1.0), "{a} + {b} != {w}");
            assert!((a - b).abs() > 1e-3 * w.abs(), "copies {a} and {b} of {w} are not jittered apart");
        }
    }

    #[test]
    fn only_growth_of_the_same_network_is_accepted() {
        let device = crate::device::cpu();
        let m = model(Arch::Df, &device);
        let refused = |to: SwapNetConfig| widen(&m, &to, 1, &device).unwrap_err();
        assert!(refused(wider(&m, 2, 8, 8)).contains("narrower"), "{}", refused(wider(&m, 2, 8, 8)));
        assert!(refused(wider(&m, 4, 4, 8)).contains("already"));
        assert!(refused(SwapNetConfig { resolution: 48, ..wider(&m, 8, 8, 8) }).contains("whole factor"));
        let big = widen(&m, &SwapNetConfig { resolution: 64, ..m.config.clone() }, 1, &device).unwrap();
        let shrunk = widen(&big, &m.config, 1, &device).unwrap_err();
        assert!(shrunk.contains("whole factor"), "{shrunk}");
        assert!(refused(wider(&m, 8, 8, 8).with_arch(Arch::Liae)).contains("architecture"));
        assert!(refused(SwapNetConfig { identities: 2, ..wider(&m, 8, 8, 8) }).contains("identities"));
    }

    #[test]
    fn the_training_record_notes_the_widening_and_forgets_the_optimizer_state() {
        let device = crate::device::cpu();
        let m = model(Arch::Df, &device);
        let once = widen(&m, &wider(&m, 8, 4, 8), 3, &device).unwrap();
        let twice = widen(&once, &wider(&once, 8, 8, 8), 4, &device).unwrap();
        let t = &twice.training;
        assert_eq!((t["iterations"].as_u64(), t.get("optimizer_iteration")), (Some(1234), None));
        assert_eq!(t["history"], m.training["history"]);
        let steps = t["widened"].as_array().unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!((steps[0]["from"]["encoder_channels"].as_u64(), steps[1]["to"]["decoder_channels"].as_u64()), (Some(4), Some(8)));
        assert_eq!((steps[1]["iteration"].as_u64(), steps[1]["seed"].as_u64()), (Some(1234), Some(4)));
    }

    /// Growing the resolution: convolutions keep their weights, and the inter block's dense layers read the new
    /// res/16 grid as the old one averaged over f×f blocks and rebuild it repeated into f×f blocks. Checked on
    /// the dense layers themselves (the whole network is a warm start, not the old function: module doc), for a
    /// factor of 2 and 3, widening at the same time.
    #[test]
    fn a_larger_resolution_reads_and_rebuilds_the_grid_blockwise() {
        let device = crate::device::cpu();
        let m = model(Arch::Df, &device);
        // Burn's Linear: y = x·W + b, W [in, out].
        let linear = |x: &[f32], w: &Plain, b: &Plain| -> Vec<f32> {
            let (n_in, n_out) = (w.shape[0], w.shape[1]);
            (0..n_out).map(|o| b.data[o] + (0..n_in).map(|i| x[i] * w.data[i * n_out + o]).sum::<f32>()).collect()
        };
        let dense = |t: &HashMap<String, Plain>, x: &[f32]| {
            let v = linear(x, &t["inters.0.dense_in.weight"], &t["inters.0.dense_in.bias"]);
            linear(&v, &t["inters.0.dense_out.weight"], &t["inters.0.dense_out.bias"])
        };
        // `grid` (n × s × s) repeated into f×f blocks, its channels copied round robin up to `m` (as widening
        // copies them).
        let repeat = |grid: &[f32], n: usize, m: usize, s: usize, f: usize| -> Vec<f32> {
            let t = s * f;
            (0..m * t * t).map(|i| grid[(i / (t * t) % n) * s * s + (i % (t * t) / t / f) * s + (i % t) / f]).collect()
        };
        let old = tensors(&m);
        let (s, channels) = (m.config.resolution / 16, m.config.encoder_channels * 8);
        let grid: Vec<f32> = (0..channels * s * s).map(|i| ((i * 53) % 97) as f32 / 97.0 - 0.5).collect();
        let want = dense(&old, &grid);
        for (f, enc) in [(2, 4), (3, 6)] {
            let to = SwapNetConfig { resolution: m.config.resolution * f, ..wider(&m, enc, 4, 8) };
            let grown = widen(&m, &to, 1, &device).unwrap();
            let new = tensors(&grown);
            for name in ["decoders.1.ups.0.conv.weight", "inters.0.up.conv.weight", "decoders.0.res.2.b.weight"] {
                assert_eq!(old[name].data, new[name].data, "{name} changed");
            }
            let got = dense(&new, &repeat(&grid, channels, channels * enc / 4, s, f));
            let latent = m.config.latent_channels();
            let want = repeat(&want, latent, latent, s, f);
            assert_eq!(got.len(), want.len());
            let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            // Float rounding: f² jittered shares summed instead of one weight.
            assert!(worst < 1e-5, "factor {f}: {worst}");
            let x = Tensor::<4>::zeros([1, 3, grown.config.resolution, grown.config.resolution], &device);
            assert_eq!(grown.net.forward(x, 0).rgb.dims(), [1, 3, 32 * f, 32 * f]);
        }
    }

    /// Added identities decode as the one they copy until trained, the old ones exactly as before, for both
    /// architectures; the record says what was added.
    #[test]
    fn an_added_identity_starts_as_a_copy_and_the_old_ones_are_kept() {
        let device = crate::device::cpu();
        for arch in [Arch::Df, Arch::Liae] {
            let m = model(arch, &device);
            let names = vec!["d".to_string(), "e".to_string()];
            let grown = add_identities(&m, &names, "b", &device).unwrap();
            assert_eq!(grown.identities, ["a", "b", "c", "d", "e"]);
            assert_eq!((grown.config.identities, grown.net.identities()), (5, 5));
            for identity in 0..3 {
                assert_eq!(outputs(&grown, identity, &device), outputs(&m, identity, &device), "{arch:?} {identity}");
            }
            let like = outputs(&m, 1, &device);
            assert_eq!((outputs(&grown, 3, &device), outputs(&grown, 4, &device)), (like.clone(), like), "{arch:?}");
            // Copies, not shared parameters: training one new identity must leave the others alone.
            let t = tensors(&grown);
            let part = if arch == Arch::Df { "decoders" } else { "inters" };
            assert_eq!(t.keys().filter(|k| k.starts_with(&format!("{part}.4."))).count(), t.keys().filter(|k| k.starts_with(&format!("{part}.1."))).count());
            let step = &grown.training["added"][0];
            assert_eq!((step["like"].as_str(), step["iteration"].as_u64()), (Some("b"), Some(1234)));
            assert_eq!(step["identities"], json!(["d", "e"]));
            assert_eq!(grown.training.get("optimizer_iteration"), None);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("g.safetensors");
            grown.save(&path).unwrap();
            assert_eq!(outputs(&SwapModel::load(&path, &device).unwrap(), 4, &device), outputs(&grown, 4, &device));
        }
    }

    #[test]
    fn adding_refuses_unknown_sources_and_repeated_names() {
        let device = crate::device::cpu();
        let m = model(Arch::Df, &device);
        let add = |names: &[&str], like: &str| {
            add_identities(&m, &names.iter().map(|s| s.to_string()).collect::<Vec<_>>(), like, &device).map(|g| g.identities)
        };
        assert!(add(&["d"], "z").unwrap_err().contains("no identity \"z\""));
        assert!(add(&["c"], "a").unwrap_err().contains("already has"));
        assert!(add(&["d", "d"], "a").unwrap_err().contains("already has"));
        assert!(add(&[], "a").unwrap_err().contains("no identity to add"));
        assert!(add(&[" "], "a").unwrap_err().contains("non-empty"));
        assert!(add(&["d\u{7}"], "a").unwrap_err().contains("control characters"));
        assert_eq!(add(&["d"], "c").unwrap(), ["a", "b", "c", "d"]);
    }

    /// A widened model is saved and loaded like any other (its header describes the new network).
    #[test]
    fn a_widened_model_round_trips_through_its_file() {
        let device = crate::device::cpu();
        let m = model(Arch::Liae, &device);
        let wide = widen(&m, &wider(&m, 8, 6, 16), 1, &device).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        wide.save(&path).unwrap();
        let back = SwapModel::load(&path, &device).unwrap();
        assert_eq!(back.config, wide.config);
        assert_eq!(outputs(&back, 2, &device), outputs(&wide, 2, &device));
    }
}
