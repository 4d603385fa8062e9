// tfjs-core's op test files (dist/ops/<name>_test.js) that exercise the kernels the CUDA
// backend registers: the op of each file runs through one of them.
export const testFiles = [
  'abs', 'add', 'arithmetic', 'binary_ops', 'arg_max', 'arg_min', 'ceil', 'clone', 'concat', 'cos', 'cumprod', 'cumsum', 'elu', 'equal', 'erf', 'exp', 'expand_dims',
  'expm1', 'fill', 'floor', 'floordiv', 'gather', 'greater', 'greater_equal', 'leaky_relu', 'less', 'less_equal', 'log', 'log1p',
  'log_softmax', 'log_sum_exp', 'logical_and', 'logical_not', 'logical_or', 'mat_mul', 'max', 'mean', 'min', 'moments', 'neg', 'not_equal',
  'one_hot', 'ones', 'ones_like', 'pad', 'prod', 'range', 'reciprocal', 'relu', 'relu6', 'round', 'rsqrt', 'sigmoid', 'sign', 'sin', 'slice',
  'slice1d', 'slice2d', 'slice3d', 'slice4d', 'softmax', 'softplus', 'split', 'sqrt', 'square', 'squeeze', 'stack', 'step', 'sub', 'sum', 'tanh',
  'tile', 'transpose', 'unsorted_segment_sum', 'where', 'zeros', 'zeros_like',
];
