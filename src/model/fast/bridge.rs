//! Between the burn model and the host executor: parameters out, gradients and running
//! statistics back in, matched field by field so that optimizers, records and checkpoints
//! stay burn's.

use burn::module::{Param, RunningState};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

use super::norm::NormParams;
use super::plan::{HostParams, UnitParams};
use crate::model::densenet::{DenseNet, NormReluConv};
use crate::model::layers::BatchNorm2d;

/// One tensor of the burn model.
enum Slot<'m, B: Backend> {
    Vector(&'m Param<Tensor<B, 1>>),
    Matrix(&'m Param<Tensor<B, 2>>),
    Kernel(&'m Param<Tensor<B, 4>>),
    Running(&'m RunningState<Tensor<B, 1>>),
}

type Visit<'f, 'm, B> = dyn FnMut(Slot<'m, B>, &mut Vec<f32>) + 'f;

fn norm<'m, B: Backend>(n: &'m BatchNorm2d<B>, h: &mut NormParams, f: &mut Visit<'_, 'm, B>) {
    f(Slot::Vector(&n.gamma), &mut h.gamma);
    f(Slot::Vector(&n.beta), &mut h.beta);
    f(Slot::Running(&n.running_mean), &mut h.running_mean);
    f(Slot::Running(&n.running_var), &mut h.running_var);
}

fn unit<'m, B: Backend>(u: &'m NormReluConv<B>, h: &mut UnitParams, f: &mut Visit<'_, 'm, B>) {
    norm(&u.norm, &mut h.norm, f);
    f(Slot::Kernel(&u.conv.weight), &mut h.weight);
}

/// Calls `f` on every tensor of `model` with the host vector that mirrors it.
fn walk<'m, B: Backend>(model: &'m DenseNet<B>, host: &mut HostParams, f: &mut Visit<'_, 'm, B>) {
    assert_eq!(
        model.blocks.len(),
        host.blocks.len(),
        "dense blocks of the plan and the model"
    );
    f(Slot::Kernel(&model.stem.weight), &mut host.stem);
    for (block, host_block) in model.blocks.iter().zip(&mut host.blocks) {
        assert_eq!(
            block.layers.len(),
            host_block.len(),
            "layers of a dense block"
        );
        for (layer, host_layer) in block.layers.iter().zip(host_block) {
            match (&layer.bottleneck, &mut host_layer.bottleneck) {
                (Some(u), Some(h)) => unit(u, h, f),
                (None, None) => {}
                _ => panic!("the plan and the model disagree on bottlenecks"),
            }
            unit(&layer.conv, &mut host_layer.conv, f);
        }
    }
    for (t, h) in model.transitions.iter().zip(&mut host.transitions) {
        unit(&t.conv, h, f);
    }
    norm(&model.head_norm, &mut host.head_norm, f);
    f(
        Slot::Matrix(&model.classifier.weight),
        &mut host.classifier_weight,
    );
    let bias = model
        .classifier
        .bias
        .as_ref()
        .expect("the classifier has a bias");
    f(Slot::Vector(bias), &mut host.classifier_bias);
}

fn values<B: Backend, const D: usize>(t: Tensor<B, D>, expected: usize) -> Vec<f32> {
    let v = t
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("f32 parameters");
    assert_eq!(v.len(), expected, "a parameter of the plan and the model");
    v
}

/// Copies `model`'s parameters and running statistics into `host`.
pub(super) fn read_params<B: Backend>(model: &DenseNet<B>, host: &mut HostParams) {
    walk(model, host, &mut |slot, v| {
        *v = match slot {
            Slot::Vector(p) => values(p.val(), v.len()),
            Slot::Matrix(p) => values(p.val(), v.len()),
            Slot::Kernel(p) => values(p.val(), v.len()),
            Slot::Running(r) => values(r.value_sync(), v.len()),
        }
    });
}

/// Hands `host`'s running statistics to `model`, as its batch norm's forward pass would.
pub(super) fn write_running<B: Backend>(
    model: &DenseNet<B>,
    host: &mut HostParams,
    device: &B::Device,
) {
    walk(model, host, &mut |slot, v| {
        if let Slot::Running(r) = slot {
            r.update(Tensor::from_data(
                TensorData::new(v.clone(), [v.len()]),
                device,
            ));
        }
    });
}

/// Frees the autodiff graph entries of tensors already dropped. burn 0.21 frees them only at
/// the end of a `backward`, which the executor never calls: each step's `require_grad`
/// leaves (the optimizer's new parameters) would pile up, 0.48 MB a step on seed-mnist and
/// 12 GB by epoch 41 of its 50, until the OOM killer ended the run. A backward through a
/// one-element throwaway tensor runs that cleanup (its cost: a walk over the live graphs).
pub(super) fn free_dropped_graph_entries<B: AutodiffBackend>(device: &B::Device) {
    let probe = Tensor::<B, 1>::zeros([1], device).require_grad();
    let _ = probe.sum().backward();
}

/// `grads` as burn's optimizers take them, keyed by the ids of `model`'s parameters.
pub(super) fn gradients<B: AutodiffBackend>(
    model: &DenseNet<B>,
    grads: &mut HostParams,
    device: &B::Device,
) -> GradientsParams {
    let mut out = GradientsParams::new();
    walk(model, grads, &mut |slot, v| {
        let v = std::mem::take(v);
        match slot {
            Slot::Vector(p) => {
                out.register::<B::InnerBackend, 1>(p.id, tensor(v, p.val().dims(), device))
            }
            Slot::Matrix(p) => {
                out.register::<B::InnerBackend, 2>(p.id, tensor(v, p.val().dims(), device))
            }
            Slot::Kernel(p) => {
                out.register::<B::InnerBackend, 4>(p.id, tensor(v, p.val().dims(), device))
            }
            Slot::Running(_) => {}
        }
    });
    out
}

fn tensor<B: Backend, const D: usize>(
    v: Vec<f32>,
    dims: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(v, dims), device)
}

/// Every trainable tensor's gradient in `grads` (empty where there is none) and every
/// running statistic of `model`, in one fixed order: how tests hold two models side by side.
#[cfg(test)]
pub(super) fn gradient_values<B: AutodiffBackend>(
    model: &DenseNet<B>,
    grads: &GradientsParams,
    plan: &super::plan::Plan,
) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mut host = HostParams::zeros(plan, true);
    let (mut trainable, mut running) = (Vec::new(), Vec::new());
    let got = |g: Option<Vec<f32>>| g.unwrap_or_default();
    walk(model, &mut host, &mut |slot, _| match slot {
        Slot::Vector(p) => trainable.push(got(grads
            .get::<B::InnerBackend, 1>(p.id)
            .map(|t| values(t.clone(), t.dims().iter().product())))),
        Slot::Matrix(p) => trainable.push(got(grads
            .get::<B::InnerBackend, 2>(p.id)
            .map(|t| values(t.clone(), t.dims().iter().product())))),
        Slot::Kernel(p) => trainable.push(got(grads
            .get::<B::InnerBackend, 4>(p.id)
            .map(|t| values(t.clone(), t.dims().iter().product())))),
        Slot::Running(r) => {
            let v = r.value_sync();
            let len = v.dims()[0];
            running.push(values(v, len));
        }
    });
    (trainable, running)
}
