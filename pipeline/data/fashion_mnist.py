"""Facts about the Fashion-MNIST files: names, sizes and the SHA-256 of their payloads."""

from dataclasses import dataclass

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
IMAGE_SIDE = 28
TRAIN_COUNT = 60_000
TEST_COUNT = 10_000


@dataclass(frozen=True)
class IdxFile:
    """One IDX file: its name without `.gz`, decompressed size and payload SHA-256."""

    name: str
    size: int
    sha256: str

    @property
    def gz_name(self) -> str:
        return f"{self.name}.gz"


TRAIN_IMAGES = IdxFile(
    "train-images-idx3-ubyte",
    16 + TRAIN_COUNT * IMAGE_SIDE * IMAGE_SIDE,
    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
)
TRAIN_LABELS = IdxFile(
    "train-labels-idx1-ubyte",
    8 + TRAIN_COUNT,
    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
)
TEST_IMAGES = IdxFile(
    "t10k-images-idx3-ubyte",
    16 + TEST_COUNT * IMAGE_SIDE * IMAGE_SIDE,
    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
)
TEST_LABELS = IdxFile(
    "t10k-labels-idx1-ubyte",
    8 + TEST_COUNT,
    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
)
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
