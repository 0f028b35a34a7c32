//! Geometry across a sweep.

use super::*;

#[test]
fn an_axis_value_too_deep_for_the_images_is_blamed_in_place() {
    // The format's example: 4 blocks do not fit 28x28 images with the pooled imagenet stem.
    let text = with(
        VALID,
        "\"model.blocks\" = [[6, 12, 24], [4, 4, 4]]",
        "\"model.blocks\" = [[6, 12, 48, 32], [4, 4, 4]]",
    );
    assert_eq!(
        parse(&text).unwrap_err().to_string(),
        "exp/x.toml:30:19: sweep.axes.\"model.blocks\"[0]: model.blocks[3]: block 4 of 4 would \
         see a 0x0 feature map (28x28 mnist images: stem -> 6x6, after transition 1 -> 3x3, \
         after transition 2 -> 1x1); use fewer blocks, stem = \"cifar\" or stem_pool = false"
    );
}

#[test]
fn geometry_failing_for_a_combination_of_axes_names_the_trial() {
    // Without the stem's pool 5 blocks fit 32x32 cifar10 images but not 28x28 mnist ones.
    let text = format!(
        "{}[sweep.axes]\n\"data.dataset\" = [\"cifar10\", \"mnist\"]\n\
         \"model.blocks\" = [[4, 4, 4], [4, 4, 4, 4, 4]]\n",
        with(
            MIN,
            "blocks = [4, 4, 4]",
            "blocks = [2, 2]\nstem_pool = false"
        )
    );
    assert_eq!(
        one_error(&text),
        err(
            14,
            30,
            "sweep.axes.\"model.blocks\"[1]",
            "model.blocks[4]: block 5 of 5 would see a 0x0 feature map (28x28 mnist images: \
             stem -> 14x14, after transition 1 -> 7x7, after transition 2 -> 3x3, after \
             transition 3 -> 1x1); use fewer blocks or stem = \"cifar\" (in trial 3, with \
             data.dataset = \"mnist\", model.blocks = [4,4,4,4,4])"
        )
    );
}

#[test]
fn a_combination_failing_in_several_trials_is_reported_once_with_a_count() {
    let text = format!(
        "{MIN}[sweep.axes]\n\"model.stem_pool\" = [false, true]\n\
         \"model.blocks\" = [[4, 4, 4, 4]]\n\"train.epochs\" = [1, 2]\n"
    );
    assert_eq!(
        one_error(&text),
        err(
            13,
            19,
            "sweep.axes.\"model.blocks\"[0]",
            "model.blocks[3]: block 4 of 4 would see a 0x0 feature map (28x28 mnist images: \
             stem -> 6x6, after transition 1 -> 3x3, after transition 2 -> 1x1); use fewer \
             blocks, stem = \"cifar\" or stem_pool = false (in trial 2, with model.stem_pool = \
             true, model.blocks = [4,4,4,4], train.epochs = 1 and 1 more trial)"
        )
    );
}
