//! The network's tensors under the names PyTorch's `state_dict` gives the same DenseNet (the
//! peer's `torch_densenet.py`: `nn.Sequential` body of alternating blocks and transitions),
//! in PyTorch's layouts: how a PyTorch model's weights are loaded into densenet-lab and its
//! trained state compared with PyTorch's.

use burn::module::{Param, RunningState};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::densenet::{DenseNet, NormReluConv};
use super::layers::BatchNorm2d;

/// One named tensor, row-major in PyTorch's layout.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// A tensor of the model as the walk meets it.
enum Slot<'m, B: Backend> {
    Vector(&'m mut Param<Tensor<B, 1>>),
    /// The classifier's weight: burn keeps `[in, out]`, PyTorch `[out, in]`.
    Transposed(&'m mut Param<Tensor<B, 2>>),
    Kernel(&'m mut Param<Tensor<B, 4>>),
    Running(&'m mut RunningState<Tensor<B, 1>>),
}

type Visit<'f, B> = dyn FnMut(String, Slot<'_, B>) + 'f;

fn norm<B: Backend>(prefix: &str, n: &mut BatchNorm2d<B>, f: &mut Visit<'_, B>) {
    f(format!("{prefix}.weight"), Slot::Vector(&mut n.gamma));
    f(format!("{prefix}.bias"), Slot::Vector(&mut n.beta));
    f(
        format!("{prefix}.running_mean"),
        Slot::Running(&mut n.running_mean),
    );
    f(
        format!("{prefix}.running_var"),
        Slot::Running(&mut n.running_var),
    );
}

fn unit<B: Backend>(bn: &str, conv: &str, u: &mut NormReluConv<B>, f: &mut Visit<'_, B>) {
    norm(bn, &mut u.norm, f);
    f(format!("{conv}.weight"), Slot::Kernel(&mut u.conv.weight));
}

/// Calls `f` with every tensor of `model` and its PyTorch name. The peer's layers always have
/// a bottleneck (`bn1`/`conv1`); a layer without one is named by its 3x3 unit alone.
fn walk<B: Backend>(model: &mut DenseNet<B>, f: &mut Visit<'_, B>) {
    f("stem.weight".into(), Slot::Kernel(&mut model.stem.weight));
    let mut transitions = model.transitions.iter_mut();
    for (b, block) in model.blocks.iter_mut().enumerate() {
        for (i, layer) in block.layers.iter_mut().enumerate() {
            let p = format!("body.{}.layers.{i}", 2 * b);
            if let Some(u) = &mut layer.bottleneck {
                unit(&format!("{p}.bn1"), &format!("{p}.conv1"), u, f);
            }
            unit(
                &format!("{p}.bn2"),
                &format!("{p}.conv2"),
                &mut layer.conv,
                f,
            );
        }
        if let Some(t) = transitions.next() {
            let p = format!("body.{}", 2 * b + 1);
            unit(&format!("{p}.bn"), &format!("{p}.conv"), &mut t.conv, f);
        }
    }
    norm("bn", &mut model.head_norm, f);
    f(
        "fc.weight".into(),
        Slot::Transposed(&mut model.classifier.weight),
    );
    if let Some(bias) = &mut model.classifier.bias {
        f("fc.bias".into(), Slot::Vector(bias));
    }
}

fn host<B: Backend, const D: usize>(name: String, t: Tensor<B, D>) -> NamedTensor {
    NamedTensor {
        name,
        shape: t.dims().to_vec(),
        values: t
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("f32 tensors"),
    }
}

/// Every parameter and running statistic of `model`, named and laid out as PyTorch's.
pub fn torch_state<B: Backend>(model: &DenseNet<B>) -> Vec<NamedTensor> {
    let mut model = model.clone();
    let mut out = Vec::new();
    walk(&mut model, &mut |name, slot| {
        out.push(match slot {
            Slot::Vector(p) => host(name, p.val()),
            Slot::Transposed(p) => host(name, p.val().transpose()),
            Slot::Kernel(p) => host(name, p.val()),
            Slot::Running(r) => host(name, r.value_sync()),
        })
    });
    out
}

/// Replaces every tensor of `model` with `lookup(name)`, a PyTorch tensor. Names that
/// `lookup` lacks and shapes that differ from the model's are the error, all of them listed.
pub fn load_torch_state<B: Backend>(
    model: &mut DenseNet<B>,
    lookup: &dyn Fn(&str) -> Option<NamedTensor>,
    device: &B::Device,
) -> Result<(), String> {
    let mut problems = Vec::new();
    walk(model, &mut |name, slot| {
        let Some(t) = lookup(&name) else {
            problems.push(format!("{name}: missing"));
            return;
        };
        let ours = |dims: &[usize]| dims.to_vec();
        let expected = match &slot {
            Slot::Vector(p) => ours(&p.dims()),
            Slot::Transposed(p) => {
                let [i, o] = p.dims();
                vec![o, i]
            }
            Slot::Kernel(p) => ours(&p.dims()),
            Slot::Running(r) => ours(&r.value_sync().dims()),
        };
        if t.shape != expected {
            problems.push(format!(
                "{name}: shape {:?}, expected {expected:?}",
                t.shape
            ));
            return;
        }
        let data = TensorData::new(t.values, t.shape);
        match slot {
            Slot::Vector(p) => *p = Param::from_tensor(Tensor::from_data(data, device)),
            Slot::Transposed(p) => {
                let w: Tensor<B, 2> = Tensor::from_data(data, device);
                *p = Param::from_tensor(w.transpose());
            }
            Slot::Kernel(p) => *p = Param::from_tensor(Tensor::from_data(data, device)),
            Slot::Running(r) => *r = RunningState::new(Tensor::from_data(data, device)),
        }
    });
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;

    use super::*;
    use crate::model::tests::config;
    use crate::spec::{Dataset, Stem, Transition};

    fn net(seed: u64) -> DenseNet<Flex> {
        let model = config(4, &[2, 2], Stem::Cifar, None, true, Transition::Compression);
        DenseNet::seeded(&model, Dataset::Cifar10, seed, &Default::default())
    }

    #[test]
    fn a_state_loads_back_name_for_name_in_pytorchs_layout() {
        let source = torch_state(&net(1));
        let names: Vec<&str> = source.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names[..2], ["stem.weight", "body.0.layers.0.bn1.weight"]);
        assert!(
            names.contains(&"body.1.conv.weight")
                && names.contains(&"body.2.layers.1.conv2.weight")
        );
        let fc = source.iter().find(|t| t.name == "fc.weight").unwrap();
        assert_eq!(fc.shape[0], 10, "PyTorch's [out, in]");
        let mut target = net(2);
        assert_ne!(torch_state(&target), source);
        let lookup = |name: &str| source.iter().find(|t| t.name == name).cloned();
        load_torch_state(&mut target, &lookup, &Default::default()).unwrap();
        assert_eq!(torch_state(&target), source);
    }

    #[test]
    fn missing_tensors_and_wrong_shapes_are_listed_by_name() {
        let mut state = torch_state(&net(1));
        state.retain(|t| t.name != "fc.bias");
        state[0].shape = vec![1, 2, 3, 4];
        let lookup = |name: &str| state.iter().find(|t| t.name == name).cloned();
        let err = load_torch_state(&mut net(2), &lookup, &Default::default()).unwrap_err();
        assert!(
            err.contains("stem.weight: shape [1, 2, 3, 4], expected [8, 3, 3, 3]"),
            "{err}"
        );
        assert!(err.contains("fc.bias: missing"), "{err}");
    }
}
