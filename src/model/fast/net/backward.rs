//! The backward pass of [`Passes`]: through the head, each dense block's layers in reverse,
//! the transitions and the stem.

use super::super::conv::{Window, avg_pool_backward, conv_backward, max_pool_backward};
use super::super::gemm::{Arith, Mat, matmul};
use super::super::norm::{norm_relu, norm_relu_backward};
use super::super::plan::HostParams;
use super::{Passes, apply_mask, grown, resized};

impl Passes {
    /// Gradients of the loss behind `grad_logits` (`[N, classes]`) with respect to every
    /// parameter, written into `grads`, after a training-mode [`Passes::forward`].
    pub fn backward(&mut self, params: &HostParams, grad_logits: &[f32], grads: &mut HostParams) {
        let (plan, t, s) = (&self.plan, &self.tape, &mut self.scratch);
        let arith = self.arith;
        let n = t.n;
        let p = plan.dropout;
        let (c, hw) = (plan.head_channels(), plan.head_size() * plan.head_size());
        let classes = plan.classes;

        // Head: linear, global average pool, BN-ReLU.
        let dl = Mat::new(grad_logits, n, classes);
        matmul(
            &mut grads.classifier_weight,
            Mat::new(&t.pooled, c, n),
            dl,
            false,
            Arith::F32,
        );
        grads.classifier_bias.fill(0.0);
        for row in grad_logits.chunks(classes).take(n) {
            for (g, v) in grads.classifier_bias.iter_mut().zip(row) {
                *g += v;
            }
        }
        let grad_pooled = grown(&mut s.grad_mid, c * n);
        matmul(
            grad_pooled,
            Mat::new(&params.classifier_weight, c, classes),
            dl.t(),
            false,
            Arith::F32,
        );
        let dz = grown(&mut s.grad_src, c * n * hw);
        for (row, &g) in dz.chunks_mut(hw.max(1)).zip(s.grad_mid.iter()) {
            row.fill(g / hw.max(1) as f32);
        }
        for (buf, block) in s.grad_features.iter_mut().zip(&plan.blocks) {
            resized(buf, block.c_total() * n * block.size * block.size);
        }
        let last = plan.blocks.len() - 1;
        let x = &t.features[last];
        let g = &mut grads.head_norm;
        norm_relu_backward(
            &t.head_norm,
            &params.head_norm.gamma,
            x,
            &s.grad_src,
            &mut s.grad_features[last],
            false,
            &mut g.gamma,
            &mut g.beta,
            n * hw,
        );

        for (b, block) in plan.blocks.iter().enumerate().rev() {
            let hw = block.size * block.size;
            let m = n * hw;
            let features = &t.features[b];
            for l in (0..block.layers).rev() {
                let (lp, lt, lg) = (
                    &params.blocks[b][l],
                    &t.layers[b][l],
                    &mut grads.blocks[b][l],
                );
                let c_in = block.layer_c_in(l);
                let (dx, rest) = s.grad_features[b].split_at_mut(c_in * m);
                let grad_out = grown(&mut s.grad_out, block.growth * m);
                grad_out.copy_from_slice(&rest[..block.growth * m]);
                apply_mask(grad_out, &lt.mask_out, p);
                let x = &features[..c_in * m];
                match (&lp.bottleneck, &mut lg.bottleneck, block.bottleneck) {
                    (Some(unit), Some(unit_grad), Some(mid)) => {
                        norm_relu(&lt.norm_mid, &lt.mid, grown(&mut s.activated, mid * m), m);
                        grown(&mut s.grad_src, mid * m);
                        conv_backward(
                            &lp.conv.weight,
                            &s.activated,
                            &s.grad_out,
                            (mid, block.growth, n),
                            block.conv3x3(),
                            &mut s.col,
                            &mut lg.conv.weight,
                            Some(&mut s.grad_src),
                            arith,
                        );
                        let grad_mid = grown(&mut s.grad_mid, mid * m);
                        let g = &mut lg.conv.norm;
                        norm_relu_backward(
                            &lt.norm_mid,
                            &lp.conv.norm.gamma,
                            &lt.mid,
                            &s.grad_src,
                            grad_mid,
                            false,
                            &mut g.gamma,
                            &mut g.beta,
                            m,
                        );
                        apply_mask(grad_mid, &lt.mask_mid, p);
                        norm_relu(&lt.norm_in, x, grown(&mut s.activated, c_in * m), m);
                        grown(&mut s.grad_src, c_in * m);
                        conv_backward(
                            &unit.weight,
                            &s.activated,
                            &s.grad_mid,
                            (c_in, mid, n),
                            Window::pointwise(block.size),
                            &mut s.col,
                            &mut unit_grad.weight,
                            Some(&mut s.grad_src),
                            arith,
                        );
                        let g = &mut unit_grad.norm;
                        norm_relu_backward(
                            &lt.norm_in,
                            &unit.norm.gamma,
                            x,
                            &s.grad_src,
                            dx,
                            true,
                            &mut g.gamma,
                            &mut g.beta,
                            m,
                        );
                    }
                    _ => {
                        norm_relu(&lt.norm_in, x, grown(&mut s.activated, c_in * m), m);
                        grown(&mut s.grad_src, c_in * m);
                        conv_backward(
                            &lp.conv.weight,
                            &s.activated,
                            &s.grad_out,
                            (c_in, block.growth, n),
                            block.conv3x3(),
                            &mut s.col,
                            &mut lg.conv.weight,
                            Some(&mut s.grad_src),
                            arith,
                        );
                        let g = &mut lg.conv.norm;
                        norm_relu_backward(
                            &lt.norm_in,
                            &lp.conv.norm.gamma,
                            x,
                            &s.grad_src,
                            dx,
                            true,
                            &mut g.gamma,
                            &mut g.beta,
                            m,
                        );
                    }
                }
            }
            if b == 0 {
                break;
            }
            // The transition in front of this block: BN-ReLU-conv1x1-dropout-avgpool.
            let (tp, prev) = (&plan.transitions[b - 1], &plan.blocks[b - 1]);
            let m_prev = n * prev.size * prev.size;
            let grad_t = grown(&mut s.transition_out, tp.c_out * m_prev);
            avg_pool_backward(
                &s.grad_features[b][..tp.c_out * m],
                tp.c_out,
                n,
                tp.pool,
                grad_t,
            );
            apply_mask(grad_t, &t.transitions[b - 1].mask, p);
            let x = &t.features[b - 1][..tp.c_in * m_prev];
            let (unit, tt, ug) = (
                &params.transitions[b - 1],
                &t.transitions[b - 1],
                &mut grads.transitions[b - 1],
            );
            norm_relu(
                &tt.norm,
                x,
                grown(&mut s.activated, tp.c_in * m_prev),
                m_prev,
            );
            grown(&mut s.grad_src, tp.c_in * m_prev);
            conv_backward(
                &unit.weight,
                &s.activated,
                &s.transition_out,
                (tp.c_in, tp.c_out, n),
                Window::pointwise(prev.size),
                &mut s.col,
                &mut ug.weight,
                Some(&mut s.grad_src),
                arith,
            );
            norm_relu_backward(
                &tt.norm,
                &unit.norm.gamma,
                x,
                &s.grad_src,
                &mut s.grad_features[b - 1],
                false,
                &mut ug.norm.gamma,
                &mut ug.norm.beta,
                m_prev,
            );
        }

        // Stem: max-pool, then the convolution's weight gradient (no input gradient).
        let stem = &plan.stem;
        let m_stem = n * stem.conv.size_out * stem.conv.size_out;
        let first = &s.grad_features[0];
        let grad_stem: &[f32] = match stem.pool {
            Some(pool) => {
                let pooled = stem.c_out * n * pool.size_out * pool.size_out;
                let out = grown(&mut s.grad_out, stem.c_out * m_stem);
                max_pool_backward(&first[..pooled], &t.argmax, stem.c_out, n, pool, out);
                &s.grad_out
            }
            None => &first[..stem.c_out * m_stem],
        };
        conv_backward(
            &params.stem,
            &t.images,
            grad_stem,
            (stem.c_in, stem.c_out, n),
            stem.conv,
            &mut s.col,
            &mut grads.stem,
            None,
            arith,
        );
    }
}
