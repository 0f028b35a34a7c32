//! The experiment file `densenet-lab new NAME` writes: every option, commented, in a form that
//! parses and runs as is (a small sweep on the bundled mnist-mini set).

/// A commented experiment file; `{name}` stands for the experiment's name.
pub const TEMPLATE: &str = r#"# DenseNet experiment. Run it with `densenet-lab run` on this file.
name = "{name}"                    # letters, digits, '.', '_', '-': names the results folder
description = "growth rate x dropout on the bundled mnist-mini set"

[data]
dataset = "mnist-mini"             # mnist | mnist-mini | fashion-mnist | cifar10
augment = false                    # random crop + horizontal flip
validation_split = 0.1             # fraction of the training set held out, in [0, 1)
# train_samples = 1000             # use only the first N training images
# test_samples = 500               # use only the first N test images

[model]
growth_rate = 12                   # k: channels each layer adds
blocks = [4, 4, 4]                 # layers per dense block; a transition follows all but the last
bottleneck = true                  # 1x1 conv to 4k channels before each 3x3 conv
transition = "growth"              # "growth": compress to k channels | "compression": to floor(compression x channels)
compression = 0.5                  # theta in (0, 1], used by transition = "compression"
stem = "cifar"                     # "cifar": 3x3 conv | "imagenet": 7x7/2 conv (+ 3x3/2 max-pool)
# stem_pool = true                 # imagenet stem only: keep its max-pool (28x28 images then fit 3 blocks)
# stem_channels = 16               # filters of the stem's conv; default 2k (the paper's plain DenseNets: 16)
dropout = 0.2                      # after each conv, in [0, 1)

[train]
epochs = 5
batch_size = 64
optimizer = { kind = "adam", lr = 1e-3 }   # adam: beta1, beta2, eps, weight_decay
# optimizer = { kind = "sgd", lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 1e-4 }
schedule = { kind = "step", at = [0.5, 0.75], factor = 0.1 }   # fractions of the run
# schedule = { kind = "constant" }
# schedule = { kind = "cosine", min_lr = 0.0 }
seed = 1                           # repeat r of a point runs with seed + r
log_every = 10                     # steps between train loss/accuracy logs
precision = "f32"                  # "bf16" (CUDA only): convolutions in bfloat16, f32 master weights

# Optional: without [sweep] the file is one trial.
[sweep]
strategy = "grid"                  # grid: every combination | random: `samples = N` distinct points (`seed = S`)
repeats = 1                        # seeds per point

[sweep.axes]                       # dotted keys of data/model/train; first axis varies slowest
"model.growth_rate" = [12, 24]
"model.dropout" = [0.0, 0.2]
"#;

/// The template with `name` filled in.
pub fn render_template(name: &str) -> String {
    TEMPLATE.replace("{name}", name)
}
