//! The fixed 64-byte header: magic, versions, dtype, section offsets and the payload checksum.

use crate::error::FormatError;

/// The first eight bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"SSMVBNDL";
/// The format major version this build reads and writes (a layout change bumps it).
pub const FORMAT_MAJOR: u16 = 1;
/// The format minor version this build writes; it reads every minor up to this one. 1.1 added
/// the schema's `class_logit_bias` (1.0 bundles are read as having none); 1.2 added the int8
/// dtype (a 1.1 reader refuses a 1.2 bundle with [`crate::FormatError::NewerMinor`]).
pub const FORMAT_MINOR: u16 = 2;
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
    /// q ∈ [−127, 127]); biases stay f32. Format 1.2.
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
        if format_major != FORMAT_MAJOR {
            return Err(FormatError::UnsupportedVersion {
                found: format_major,
                supported: FORMAT_MAJOR,
            });
        }
        let format_minor = u16_at(h, 10);
        if format_minor > FORMAT_MINOR {
            return Err(FormatError::NewerMinor {
                found: format_minor,
                supported: FORMAT_MINOR,
            });
        }
        let dtype = match h[12] {
            0 => Dtype::F32,
            1 => Dtype::F16,
            2 if format_minor >= 2 => Dtype::I8,
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
