"""Music and video Conformer encoders, the matching model, named configs and safe checkpoints."""
from .checkpoint import FORMAT, FORMAT_VERSION, LoadedModel, load_model, save_model
from .conformer import Conformer, ConformerBlock, ConformerConfig
from .factory import MODEL_KINDS, NAMED_CONFIGS, build_model, create_model, model_classes, named_config
from .layers import ClipEncoderOutput, masked_mean, sinusoidal_positions
from .matching import RHYTHM_FIELDS, MatchingConfig, MatchingModel, MatchingOutput
from .music import MusicEncoder, MusicEncoderConfig
from .video import VideoEncoder, VideoEncoderConfig

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MODEL_KINDS",
    "NAMED_CONFIGS",
    "RHYTHM_FIELDS",
    "ClipEncoderOutput",
    "Conformer",
    "ConformerBlock",
    "ConformerConfig",
    "LoadedModel",
    "MatchingConfig",
    "MatchingModel",
    "MatchingOutput",
    "MusicEncoder",
    "MusicEncoderConfig",
    "VideoEncoder",
    "VideoEncoderConfig",
    "build_model",
    "create_model",
    "load_model",
    "masked_mean",
    "model_classes",
    "named_config",
    "save_model",
    "sinusoidal_positions",
]
