//! How a layer is cut into tasks: (image, band of output rows, group of output channels), sized so that a
//! band's intermediate stays in cache; each task run on rayon's pool under the widest SIMD the CPU has.

use crate::*;
use pulp::Simd;
use rayon::prelude::*;

/// Target size of one band's intermediate, in floats: 64 KiB, well inside any current core's L2 (and close
/// to L1 on the 48 KiB-L1 machine the figures were taken on), so the 1×1 convolution reads it from cache.
pub(crate) const BAND_FLOATS: usize = 16 * 1024;

/// Fewest output values per band and channel (see `run_in_bands`): two steps of the widest vectors pulp uses.
pub(crate) const MIN_BAND_COLUMNS: usize = 64;

/// A checked layer's output size and the number of rows of its bands' intermediate (which sets the band
/// height: see `bands`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    pub(crate) out: [usize; 2],
    pub(crate) depth: usize,
}

/// One task: rows `row0..` of output channels `first_channel..` of one image.
pub(crate) struct Band<'o> {
    pub(crate) image: usize,
    pub(crate) row0: usize,
    pub(crate) first_channel: usize,
    pub(crate) outputs: Vec<&'o mut [f32]>,
}

/// Per-thread buffers, reused from band to band and from call to call (`SCRATCH`).
#[derive(Default)]
pub(crate) struct Scratch {
    /// The band's input to the 1×1 convolution: `[depth, band length]`.
    pub(crate) columns: Vec<f32>,
    /// A block's pooled skip path at stride 2.
    pub(crate) pooled: Vec<f32>,
    /// A row of zeros: the padding rows of the depthwise convolution.
    pub(crate) zeros: Vec<f32>,
    /// A stride-2 block's input rows under the band, split into even and odd columns.
    pub(crate) rows: Vec<f32>,
}

/// A layer computed band by band.
pub(crate) trait BandKernel: Sync {
    fn channels_out(&self) -> usize;
    /// Whether the band's intermediate costs little next to its 1×1 convolution, so that splitting a band's
    /// output channels between threads (which computes it once per part) pays. True for a convolution's
    /// patches (a copy); false for a block's depthwise convolution (BlazeFace at batch 1 lost 30%).
    fn cheap_intermediate(&self) -> bool;
    /// Whether AVX-512 pays for this layer where the CPU has it (see the impls).
    fn wide_vectors(&self) -> bool;
    /// Fills `band.outputs` from one image of the input. Called inside the SIMD context: `inline(always)`.
    #[allow(clippy::too_many_arguments)]
    fn band<S: Simd, M: MulAdd>(&self, simd: S, image: &[f32], size: [usize; 2], wo: usize, band: &mut Band<'_>, scratch: &mut Scratch);
}

/// Runs `kernel` on rayon's pool, its output cut into (image, band of rows) tasks (`bands`).
pub(crate) fn run_in_bands<K: BandKernel>(kernel: &K, x: &[f32], batch: usize, size: [usize; 2], plan: Plan, widest: Isa) -> Vec<f32> {
    let [ho, wo] = plan.out;
    let mut out = vec![0.0f32; batch * kernel.channels_out() * ho * wo];
    let image_len = x.len() / batch;
    bands(kernel, &mut out, batch, plan, rayon::current_num_threads()).into_par_iter().for_each(|mut band| {
        let image = &x[band.image * image_len..][..image_len];
        run_band(kernel, image, size, wo, widest, &mut band);
    });
    out
}

/// Cuts `out` (`batch` images of the layer's output) into (image, band of rows) tasks, each owning its rows
/// of every output channel (disjoint slices, cut safely with `chunks_mut`), for `threads` threads (1: tasks
/// for the calling thread alone, never split by channel).
pub(crate) fn bands<'o, K: BandKernel>(kernel: &K, out: &'o mut [f32], batch: usize, plan: Plan, threads: usize) -> Vec<Band<'o>> {
    let ([ho, wo], depth) = (plan.out, plan.depth);
    let (co, plane) = (kernel.channels_out(), ho * wo);
    // At least MIN_BAND_COLUMNS per band: the 1×1 convolution's vector loop covers whole steps of two
    // vectors (16 floats with AVX2) and leaves the rest to a scalar loop, so a 1-row band of an 8-wide plane
    // would run entirely scalar (the swap network's deepest convolutions: 9x slower).
    let rows = (BAND_FLOATS / (depth * wo)).max(MIN_BAND_COLUMNS.div_ceil(wo)).clamp(1, ho);
    let bands = ho.div_ceil(rows);
    // Too few bands to keep every thread busy (one image, a small plane: the swap network's deepest layers)
    // → also split the output channels, at the price of computing the band's intermediate once per part.
    let parts = if kernel.cheap_intermediate() && threads > 1 {
        (2 * threads).div_ceil(batch * bands).clamp(1, co.div_ceil(CHANNELS))
    } else {
        1
    };
    // Whole packed panels per part (`PackedWeights`: a tile's channels start at a multiple of `PANEL`).
    let per_part = co.div_ceil(parts).next_multiple_of(PANEL);
    let mut tasks = Vec::with_capacity(batch * bands * parts);
    for (n, image) in out.chunks_mut(co * plane).enumerate() {
        let mut per_band: Vec<Vec<&mut [f32]>> = (0..bands).map(|_| Vec::with_capacity(co)).collect();
        for channel in image.chunks_mut(plane) {
            for (b, rows_of_band) in channel.chunks_mut(rows * wo).enumerate() {
                per_band[b].push(rows_of_band);
            }
        }
        for (b, mut outputs) in per_band.into_iter().enumerate() {
            let mut first_channel = 0;
            while !outputs.is_empty() {
                let rest = outputs.split_off(per_part.min(outputs.len()));
                let count = outputs.len();
                tasks.push(Band { image: n, row0: b * rows, first_channel, outputs });
                first_channel += count;
                outputs = rest;
            }
        }
    }
    tasks
}

/// Fills one band from `image` (the band's image of the layer's input) on the calling thread, with its
/// thread's `SCRATCH`.
pub(crate) fn run_band<K: BandKernel>(kernel: &K, image: &[f32], size: [usize; 2], wo: usize, widest: Isa, band: &mut Band<'_>) {
    SCRATCH.with_borrow_mut(|scratch| {
        // AVX-512 only where it pays (see `wide_vectors`).
        let widest = if kernel.wide_vectors() { widest } else { widest.min(Isa::Avx2) };
        if let Err(task) = on_x86_simd(widest, BandWithSimd { kernel, image, size, wo, band, scratch }) {
            kernel.band::<_, Separate>(pulp::Scalar::new(), image, size, wo, task.band, task.scratch)
        }
    })
}

thread_local! {
    /// Each pool thread's band buffers, kept from call to call: as a fresh `Scratch` per rayon split
    /// (`for_each_init`), they were allocated many times a layer, and the kernel's page clearing took a quarter
    /// of BlazeFace's stem. They grow to the largest band a thread has run (under 1 MB with the networks here)
    /// and live as long as the thread. A band never calls back into rayon, so the borrow cannot be re-entered.
    /// Their destructors run at thread exit; glibc keeps a library with pending thread-local destructors
    /// loaded, which Burn's own threads already do for the plug-in (see `ofx::suites` on `dlclose`).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Runs `task` with AVX-512 or else AVX2 + FMA, the widest the CPU has and `widest` allows; gives the task
/// back when neither applies, for the caller's portable code.
#[inline(always)]
pub(crate) fn on_x86_simd<W: pulp::WithSimd>(widest: Isa, task: W) -> Result<W::Output, W> {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = (widest >= Isa::Avx512).then(pulp::x86::V4::try_new).flatten() {
        return Ok(Simd::vectorize(simd, task));
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = (widest >= Isa::Avx2).then(pulp::x86::V3::try_new).flatten() {
        return Ok(Simd::vectorize(simd, task));
    }
    Err(task)
}

/// The widest instruction set a run may use (where the CPU has it). Every x86 variant takes the same fused
/// multiply-adds in the same order, so AVX-512 and AVX2 give the same bits (tested); the portable one rounds
/// the products separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Isa {
    #[cfg_attr(not(test), allow(dead_code))]
    Portable,
    Avx2,
    Avx512,
}

/// A band as pulp wants it to compile it with AVX2 + FMA enabled: `with_simd` is instantiated inside pulp's
/// `#[target_feature]` function and inlined there. (A closure is not: it was compiled without the features,
/// and every `mul_add` became a call to the C library's `fmaf`, 3× slower than Burn.)
pub(crate) struct BandWithSimd<'k, 'b, 'o, K> {
    kernel: &'k K,
    image: &'k [f32],
    size: [usize; 2],
    wo: usize,
    band: &'b mut Band<'o>,
    scratch: &'b mut Scratch,
}

impl<K: BandKernel> pulp::WithSimd for BandWithSimd<'_, '_, '_, K> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        self.kernel.band::<S, Fused>(simd, self.image, self.size, self.wo, self.band, self.scratch)
    }
}

/// `a · b + c`: one fused instruction where the CPU has FMA, a multiply and an add elsewhere (`f32::mul_add`
/// without hardware FMA is a slow library call).
pub(crate) trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
}

pub(crate) struct Fused;

pub(crate) struct Separate;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}
