import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { UnaryOp } from '@alto/kernels';
import { elemOf, type CudaBackend } from '../backend.js';
import { cuda, kernel } from './kernel.js';
import { cast } from './layout.js';

const INT_OPS = new Set<number>([UnaryOp.Neg, UnaryOp.Abs, UnaryOp.Square, UnaryOp.Sign]);

// On int32 these give float32, as tfjs's cpu backend; the other float ops keep int32 (truncated).
const FLOAT_RESULT = new Set<number>([UnaryOp.Exp, UnaryOp.LeakyRelu]);

/** op(x) elementwise: float32; neg, abs, square and sign natively on int32, the others through float32; logical not on bool. */
export function unary(backend: CudaBackend, op: number, x: TensorInfo, alpha = 0): TensorInfo {
  if (x.dtype === 'int32' && !INT_OPS.has(op) && op !== UnaryOp.LogicalNot) {
    const f = cast(backend, x, 'float32');
    const y = unary(backend, op, f, alpha);
    backend.disposeIntermediate(f);
    if (FLOAT_RESULT.has(op)) return y;
    const back = cast(backend, y, 'int32');
    backend.disposeIntermediate(y);
    return back;
  }
  const ok = op === UnaryOp.LogicalNot ? x.dtype === 'bool' : x.dtype === 'float32' || (x.dtype === 'int32' && INT_OPS.has(op));
  if (!ok) throw new TypeError(`the CUDA backend does not run this elementwise op on ${x.dtype}`);
  const out = backend.makeOutput(x.shape, x.dtype);
  backend.cuda.unary(op, elemOf(x.dtype), backend.ptr(x), backend.ptr(out), tf.util.sizeFromShape(x.shape), alpha);
  return out;
}

function unaryKernel(kernelName: string, op: number, alphaOf?: (attrs: tf.NamedAttrMap) => number): KernelConfig {
  return kernel(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    return unary(cuda(backend), op, x, alphaOf ? alphaOf(attrs ?? {}) : 0);
  });
}

export const unaryKernels: KernelConfig[] = [
  unaryKernel(tf.Neg, UnaryOp.Neg),
  unaryKernel(tf.Abs, UnaryOp.Abs),
  unaryKernel(tf.Exp, UnaryOp.Exp),
  unaryKernel(tf.Log, UnaryOp.Log),
  unaryKernel(tf.Sqrt, UnaryOp.Sqrt),
  unaryKernel(tf.Rsqrt, UnaryOp.Rsqrt),
  unaryKernel(tf.Square, UnaryOp.Square),
  unaryKernel(tf.Reciprocal, UnaryOp.Reciprocal),
  unaryKernel(tf.Relu, UnaryOp.Relu),
  unaryKernel(tf.Sigmoid, UnaryOp.Sigmoid),
  unaryKernel(tf.Tanh, UnaryOp.Tanh),
  unaryKernel(tf.Sin, UnaryOp.Sin),
  unaryKernel(tf.Cos, UnaryOp.Cos),
  unaryKernel(tf.Floor, UnaryOp.Floor),
  unaryKernel(tf.Ceil, UnaryOp.Ceil),
  unaryKernel(tf.Round, UnaryOp.Round),
  unaryKernel(tf.Sign, UnaryOp.Sign),
  unaryKernel(tf.Log1p, UnaryOp.Log1p),
  unaryKernel(tf.Expm1, UnaryOp.Expm1),
  unaryKernel(tf.Erf, UnaryOp.Erf),
  unaryKernel(tf.Softplus, UnaryOp.Softplus),
  unaryKernel(tf.Elu, UnaryOp.Elu),
  unaryKernel(tf.Relu6, UnaryOp.Relu6),
  unaryKernel(tf.Step, UnaryOp.Step, (a) => (a.alpha as number) ?? 0),
  unaryKernel(tf.LeakyRelu, UnaryOp.LeakyRelu, (a) => (a.alpha as number) ?? 0.2),
  unaryKernel(tf.LogicalNot, UnaryOp.LogicalNot),
];
