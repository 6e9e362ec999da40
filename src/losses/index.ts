// The losses' public API: below both the training loop and evaluation.
export {
  getLoss,
  sparseCrossEntropy,
  softDiceLoss,
  imageDiceLoss,
  scoresLoss,
  LOSS_NAMES,
  type LossName,
  type LossFn,
} from './losses.js';
