/** The C enums of kernels/include/alto/engine.h, value for value. */
export const Elem = { f32: 0, i32: 1, u8: 2 } as const;

export const UnaryOp = {
  Neg: 0, Abs: 1, Exp: 2, Log: 3, Sqrt: 4, Rsqrt: 5, Square: 6, Reciprocal: 7, Relu: 8, Sigmoid: 9, Tanh: 10, Sin: 11, Cos: 12,
  Floor: 13, Ceil: 14, Round: 15, Sign: 16, Log1p: 17, Expm1: 18, Erf: 19, Softplus: 20, Elu: 21, Relu6: 22, Step: 23,
  LeakyRelu: 24, LogicalNot: 25,
} as const;

export const BinaryOp = {
  Add: 0, Sub: 1, Mul: 2, Div: 3, Max: 4, Min: 5, Pow: 6, SquaredDiff: 7, FloorDiv: 8, Mod: 9, Atan2: 10,
  Equal: 11, NotEqual: 12, Less: 13, LessEqual: 14, Greater: 15, GreaterEqual: 16, LogicalAnd: 17, LogicalOr: 18,
} as const;

export const ReduceOp = { Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4, ArgMax: 5, ArgMin: 6 } as const;

export const MatmulPrecision = { fp32: 0, tf32: 1, bf16: 2 } as const;
