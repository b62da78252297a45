//! The fixed 64-byte header: magic, versions, dtype, section offsets and the payload checksum.

use crate::error::FormatError;

/// The first eight bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"SSMVBNDL";
/// The format major version this build writes (a layout change bumps it). 2.0 stores every
/// weight matrix in output panels ([`Layout::Panels`]) instead of row-major; this build still
/// reads 1.x ([`Layout::RowMajor`]) so that 1.x bundles can be repacked (`repack`, feature
/// `alloc`), and a 1.x reader refuses a 2.0 bundle with
/// [`crate::FormatError::UnsupportedVersion`] instead of misreading its weights.
pub const FORMAT_MAJOR: u16 = 2;
/// The format minor version this build writes; it reads every minor of its major up to this one.
/// 2.1 added the `Log1pStandardize` input transform (count data, docs/model.md §11.3) and the
/// schema's class priors and τ (the target prior a runtime may switch to, §12.1): a 2.0 reader
/// refuses a 2.1 bundle with [`crate::FormatError::NewerMinor`] ("update ssmvae-runtime")
/// instead of failing on a transform tag it does not know.
pub const FORMAT_MINOR: u16 = 1;
/// The newest minor of format 1 this build reads. 1.1 added the schema's `class_logit_bias` (1.0
/// bundles are read as having none); 1.2 added the int8 dtype. Format 2.0 has both.
pub const LEGACY_MINOR: u16 = 2;
/// Output channels per weight panel in format 2 (one AVX2 register of f32; see [`Layout`]).
pub const PANEL: usize = 8;
/// Header size; also the alignment of the weight section and of every tensor in it.
pub const HEADER_LEN: usize = 64;
/// Alignment of every tensor (one AVX-512 line).
pub const ALIGN: u64 = 64;

/// How weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// IEEE-754 binary32, little-endian.
    F32,
    /// IEEE-754 binary16, little-endian (read without expanding the model at open).
    F16,
    /// Weights as int8 with one f32 scale per output channel (symmetric: w ≈ scale · q,
    /// q ∈ [−127, 127]); biases stay f32. Format 1.2 and later.
    I8,
}

impl Dtype {
    /// Bytes per weight value.
    pub fn size(self) -> u64 {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 => 2,
            Dtype::I8 => 1,
        }
    }
    /// Bytes per bias value (int8 bundles keep f32 biases).
    pub fn bias_size(self) -> u64 {
        match self {
            Dtype::F16 => 2,
            Dtype::F32 | Dtype::I8 => 4,
        }
    }
    fn code(self) -> u8 {
        match self {
            Dtype::F32 => 0,
            Dtype::F16 => 1,
            Dtype::I8 => 2,
        }
    }
}

/// How a weight matrix of `output × input` values is laid out in the weight section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Format 1.x: row-major, `W[o][i]` at `o · input + i`.
    RowMajor,
    /// Format 2: panels of [`PANEL`] output channels, each panel input-major: `W[o][i]` at
    /// `(o / 8) · input · 8 + i · 8 + o % 8`, the last panel zero-padded to 8 channels (an int8
    /// matrix has `8 · ⌈output / 8⌉` scales, 0 for the padding). A kernel then reads one
    /// contiguous stream per panel and broadcasts each input once per 8 outputs (the packed-B
    /// layout of GotoBLAS-style matrix products), for a batch as for a single sample.
    Panels,
}

/// The decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Major version.
    pub format_major: u16,
    /// Minor version.
    pub format_minor: u16,
    /// Weight dtype.
    pub dtype: Dtype,
    /// Start of the weight section (always 64).
    pub weights_offset: u64,
    /// Length of the weight section (a multiple of 64).
    pub weights_len: u64,
    /// Start of the rkyv schema archive.
    pub schema_offset: u64,
    /// Length of the schema archive; it ends exactly at the end of the file.
    pub schema_len: u64,
    /// CRC-32 (IEEE) of every byte after the header.
    pub checksum: u32,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Header {
    /// Parses the first 64 bytes (length, magic, version, dtype); section bounds are checked by
    /// the caller against the whole file.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let h = bytes
            .get(..HEADER_LEN)
            .ok_or(FormatError::TooShort { len: bytes.len() })?;
        if h[..8] != MAGIC {
            return Err(FormatError::BadMagic);
        }
        let format_major = u16_at(h, 8);
        let newest_minor = match format_major {
            1 => LEGACY_MINOR,
            FORMAT_MAJOR => FORMAT_MINOR,
            found => {
                return Err(FormatError::UnsupportedVersion {
                    found,
                    supported: FORMAT_MAJOR,
                })
            }
        };
        let format_minor = u16_at(h, 10);
        if format_minor > newest_minor {
            return Err(FormatError::NewerMinor {
                major: format_major,
                found: format_minor,
                supported: newest_minor,
            });
        }
        let dtype = match h[12] {
            0 => Dtype::F32,
            1 => Dtype::F16,
            2 if format_major >= 2 || format_minor >= 2 => Dtype::I8,
            other => return Err(FormatError::BadDtype(other)),
        };
        Ok(Header {
            format_major,
            format_minor,
            dtype,
            weights_offset: u64_at(h, 16),
            weights_len: u64_at(h, 24),
            schema_offset: u64_at(h, 32),
            schema_len: u64_at(h, 40),
            checksum: u32_at(h, 48),
        })
    }

    /// How the weight matrices are laid out: row-major in format 1, panels in format 2.
    pub fn layout(&self) -> Layout {
        if self.format_major == 1 {
            Layout::RowMajor
        } else {
            Layout::Panels
        }
    }

    /// Whether the schema archive has 1.1's fields (`class_logit_bias`): every bundle but 1.0.
    pub(crate) fn has_logit_bias(&self) -> bool {
        !(self.format_major == 1 && self.format_minor == 0)
    }

    /// Whether the schema archive has 2.1's fields (the class priors and τ).
    pub(crate) fn has_priors(&self) -> bool {
        self.format_major >= 2 && self.format_minor >= 1
    }

    /// The 64 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..8].copy_from_slice(&MAGIC);
        h[8..10].copy_from_slice(&self.format_major.to_le_bytes());
        h[10..12].copy_from_slice(&self.format_minor.to_le_bytes());
        h[12] = self.dtype.code();
        h[16..24].copy_from_slice(&self.weights_offset.to_le_bytes());
        h[24..32].copy_from_slice(&self.weights_len.to_le_bytes());
        h[32..40].copy_from_slice(&self.schema_offset.to_le_bytes());
        h[40..48].copy_from_slice(&self.schema_len.to_le_bytes());
        h[48..52].copy_from_slice(&self.checksum.to_le_bytes());
        h
    }
}
