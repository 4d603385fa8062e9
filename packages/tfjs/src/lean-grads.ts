import * as tf from '@tensorflow/tfjs-core';

/**
 * tf.variableGrads with a backward pass that frees memory as it goes.
 *
 * tfjs keeps every tensor a gradient needs (the tape's saved tensors) and every intermediate
 * gradient until the whole backward pass ends, so its peak is the forward's activations plus
 * the gradient of every intermediate. Here each tape node's saved tensors and the gradients of
 * its outputs are disposed as soon as that node's input gradients are computed (a tensor's
 * gradient is complete when the walk reaches the node that made it: every consumer comes
 * later on the tape), and the saved tensors of nodes off every path from `vars` to the loss
 * right after the forward. The peak becomes the forward's activations plus one layer's
 * gradients. Same values as tf.variableGrads (same tape, same gradient functions, same
 * accumulation order).
 *
 * It walks tfjs-core's tape (Engine.state.activeTape, of tfjs-core 4.x); inside another
 * gradient computation (higher-order gradients) it defers to tf.variableGrads.
 */
export function leanVariableGrads(f: () => tf.Scalar, vars: tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tf.engine() as unknown as EngineInternals;
  const trainable = vars.filter((v) => v.trainable);
  if (engine.state.gradientDepth !== 0 || trainable.length === 0) return tf.variableGrads(f, vars);
  let y: tf.Scalar;
  try {
    y = engine.scopedRun(() => engine.startTape(), () => engine.endTape(), () => engine.tidy('forward', f)) as tf.Scalar;
  } catch (e) {
    // A forward that failed (out of memory, say) leaves what its tape saved: free it.
    engine.state.activeTape?.forEach((node) => disposeAll(node.saved));
    engine.state.activeTape = null;
    throw e;
  }
  const tape = engine.state.activeTape!;
  engine.state.activeTape = null;
  if (!(y instanceof tf.Tensor) || y.rank !== 0) {
    tape.forEach((node) => disposeAll(node.saved));
    throw new Error('leanVariableGrads: f() must return a scalar tensor');
  }
  const { nodes, unused } = pathNodes(tape, trainable, y);
  for (const node of unused) disposeAll(node.saved);
  if (nodes.length === 0) {
    y.dispose();
    throw new Error('Cannot find a connection between any variable and the result of the loss function y=f(x). Please make sure the operations that use variables are inside the function f passed to minimize().');
  }
  const keep = new Set(trainable.map((v) => v.id));
  let grads: tf.NamedTensorMap;
  try {
    grads = backward(nodes, y, keep, trainable);
  } catch (e) {
    // The nodes not reached keep their saved tensors: free them, and the loss.
    nodes.forEach((node) => disposeAll(node.saved));
    y.dispose();
    throw e;
  }
  // As tf.variableGrads: listed variables that are not trainable get null.
  for (const v of vars) if (!v.trainable) (grads as Record<string, tf.Tensor | null>)[v.name] = null;
  return { value: y, grads };
}

/** Walks the tape backward from y, freeing each node's saved tensors and used gradients. */
function backward(nodes: TapeNode[], y: tf.Scalar, keep: Set<number>, trainable: tf.Variable[]): tf.NamedTensorMap {
  return tf.tidy(() => {
    const acc = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]]);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      // An output off the loss's path gets zeros made by a kernel where they live: given null,
      // tfjs fills an array on the host and uploads it (on a GPU backend a copy that waits for
      // the queue: every attention's backward would drain the device).
      const filled: tf.Tensor[] = [];
      const zeros = (o: tf.Tensor) => (o.dtype === 'float32' || o.dtype === 'int32' ? filled[filled.push(tf.fill(o.shape, 0, o.dtype)) - 1] : null);
      const dys = node.outputs.map((o) => acc.get(o.id) ?? zeros(o));
      const inputGradients = node.gradient(dys);
      for (const [name, x] of Object.entries(node.inputs)) {
        if (!(name in inputGradients)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`);
        let dx = tf.tidy(() => inputGradients[name]());
        // A gradient may hand back dy itself; it outlives dy's disposal below as its own tensor.
        if (dys.includes(dx)) dx = dx.clone();
        if (dx.dtype !== 'float32') throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
        if (!tf.util.arraysEqual(dx.shape, x.shape)) {
          throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`);
        }
        const current = acc.get(x.id);
        if (current === undefined) acc.set(x.id, dx);
        else {
          acc.set(x.id, tf.add(current, dx));
          current.dispose();
          dx.dispose();
        }
      }
      // This node was the last use of its outputs' gradients and of what it saved.
      for (const o of node.outputs) {
        const dy = acc.get(o.id);
        if (dy && !keep.has(o.id)) {
          dy.dispose();
          acc.delete(o.id);
        }
      }
      disposeAll(filled);
      disposeAll(node.saved);
      node.saved = [];
    }
    const out: tf.NamedTensorMap = {};
    for (const v of trainable) {
      const g = acc.get(v.id);
      if (g) out[v.name] = g;
    }
    return out;
  });
}

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { gradientDepth: number; activeTape: TapeNode[] | null };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

const disposeAll = (tensors: tf.Tensor[] | undefined) => tensors?.forEach((t) => t.dispose());

/**
 * The tape nodes on a path from some x to y, each with its inputs pruned to those that depend
 * on an x (as tfjs's own filter), and the nodes off every such path.
 */
function pathNodes(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): { nodes: TapeNode[]; unused: TapeNode[] } {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      nodesFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      nodesToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  const nodes: TapeNode[] = [], unused: TapeNode[] = [];
  for (const node of tape) {
    if (nodesFromX.has(node.id) && nodesToY.has(node.id)) {
      const inputs = Object.fromEntries(Object.entries(node.inputs).filter(([, t]) => fromX.has(t.id)));
      // The pruned copy shares `saved` and `gradient` with the original node.
      nodes.push(Object.assign(Object.create(null), node, { inputs }) as TapeNode);
    } else unused.push(node);
  }
  return { nodes, unused };
}
