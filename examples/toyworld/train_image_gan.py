"""Train the toy image GAN of one world variant on CPU and save it where the `toy` backend finds it.

    python examples/toyworld/train_image_gan.py --variant shapes
    python examples/toyworld/train_image_gan.py --variant glow --preview glow-samples.png

Same as `python -m latentmotion_toyworld.train_image_gan`; `--help` lists the options.
"""

from latentmotion_toyworld.train_image_gan import main

if __name__ == "__main__":
    main()
