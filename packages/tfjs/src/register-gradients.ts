// tfjs-core's Node bundle registers no gradient functions (the union package @tensorflow/tfjs
// does that); tfjs-layers' bundle registers all of tfjs-core's gradients when it loads. ALTO
// differentiates through user models built from plain tf ops, so it loads it here.
import '@tensorflow/tfjs-layers';
