//! Spatial geometry of the network: which side each dense block sees. A deep layout on small
//! images can pool the feature map down to nothing; that must be caught when the file is
//! read, not as a shape panic an hour into a sweep.

use super::config::{ModelConfig, Stem};

/// Why a model does not fit its images.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    #[error("the model has no dense blocks")]
    NoBlocks,
    /// Block `block` (1-based) of `blocks` would get a 0x0 input. `sizes` holds the sides that
    /// the blocks before it see (the stem's output first), to explain how it got there.
    #[error(
        "block {block} of {blocks} would see a 0x0 feature map ({image_size}x{image_size} images: {})",
        self.steps()
    )]
    Vanishes {
        block: usize,
        blocks: usize,
        image_size: usize,
        sizes: Vec<usize>,
    },
}

impl GeometryError {
    /// `stem -> 6x6, after transition 1 -> 3x3, ...`: the sides up to the failing block.
    pub fn steps(&self) -> String {
        match self {
            GeometryError::NoBlocks => String::new(),
            GeometryError::Vanishes { sizes, .. } if sizes.is_empty() => "stem -> 0x0".into(),
            GeometryError::Vanishes { sizes, .. } => sizes
                .iter()
                .enumerate()
                .map(|(i, s)| match i {
                    0 => format!("stem -> {s}x{s}"),
                    _ => format!("after transition {i} -> {s}x{s}"),
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Side of the stem's output for `side`x`side` input images.
///
/// imagenet: 7x7 stride-2 conv with TF 'SAME' padding (ceil(s/2)), then, with `stem_pool`, a
/// 3x3 stride-2 'VALID' max-pool (floor((s-3)/2)+1, nothing below 3). cifar: 3x3 stride-1
/// 'SAME' conv, side unchanged.
pub fn stem_output(model: &ModelConfig, side: usize) -> usize {
    match model.stem {
        Stem::Cifar => side,
        Stem::Imagenet => {
            let conv = side.div_ceil(2);
            if !model.uses_stem_pool() {
                conv
            } else if conv < 3 {
                0
            } else {
                (conv - 3) / 2 + 1
            }
        }
    }
}

/// Spatial side at the input of each dense block, one per block, in order. No transition
/// follows the last block, so the last element is also the side the head (global average
/// pool + classifier) sees. Transitions are 2x2 stride-2 'VALID' average pools (floor(s/2)).
pub fn feature_map_sizes(
    model: &ModelConfig,
    image_size: usize,
) -> Result<Vec<usize>, GeometryError> {
    let blocks = model.blocks.len();
    if blocks == 0 {
        return Err(GeometryError::NoBlocks);
    }
    let mut sizes = Vec::with_capacity(blocks);
    let mut side = stem_output(model, image_size);
    for block in 1..=blocks {
        if side == 0 {
            return Err(GeometryError::Vanishes {
                block,
                blocks,
                image_size,
                sizes,
            });
        }
        sizes.push(side);
        side /= 2;
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::super::config::Transition;
    use super::*;

    fn model(blocks: &[usize], stem: Stem, stem_pool: Option<bool>) -> ModelConfig {
        ModelConfig {
            growth_rate: 12,
            blocks: blocks.to_vec(),
            bottleneck: true,
            transition: Transition::Growth,
            compression: 0.5,
            stem,
            stem_pool,
            stem_channels: None,
            dropout: 0.0,
            init: Default::default(),
        }
    }

    #[test]
    fn mnist_imagenet_stem_with_pool_gives_6_3_1() {
        let m = model(&[4, 4, 32], Stem::Imagenet, None);
        assert_eq!(feature_map_sizes(&m, 28), Ok(vec![6, 3, 1]));
        // The head sees the last block's side.
        assert_eq!(feature_map_sizes(&m, 28).unwrap().last(), Some(&1));
    }

    #[test]
    fn mnist_imagenet_stem_with_pool_rejects_a_fourth_block_naming_it() {
        let m = model(&[4, 4, 4, 4], Stem::Imagenet, Some(true));
        let err = feature_map_sizes(&m, 28).unwrap_err();
        assert_eq!(
            err,
            GeometryError::Vanishes {
                block: 4,
                blocks: 4,
                image_size: 28,
                sizes: vec![6, 3, 1]
            }
        );
        assert_eq!(
            err.to_string(),
            "block 4 of 4 would see a 0x0 feature map (28x28 images: stem -> 6x6, \
             after transition 1 -> 3x3, after transition 2 -> 1x1)"
        );
    }

    #[test]
    fn mnist_imagenet_stem_without_pool_gives_14_7_3_1() {
        let m = model(&[4, 4, 4, 4], Stem::Imagenet, Some(false));
        assert_eq!(feature_map_sizes(&m, 28), Ok(vec![14, 7, 3, 1]));
    }

    #[test]
    fn cifar_stem_on_32_gives_32_16_8() {
        let m = model(&[4, 4, 4], Stem::Cifar, None);
        assert_eq!(feature_map_sizes(&m, 32), Ok(vec![32, 16, 8]));
    }

    #[test]
    fn tiny_images_vanish_in_the_stem_and_no_blocks_is_an_error() {
        let m = model(&[1], Stem::Imagenet, None);
        let err = feature_map_sizes(&m, 4).unwrap_err();
        assert_eq!(err.steps(), "stem -> 0x0");
        assert_eq!(stem_output(&m, 5), 1);
        assert_eq!(
            feature_map_sizes(&model(&[], Stem::Cifar, None), 32),
            Err(GeometryError::NoBlocks)
        );
    }
}
