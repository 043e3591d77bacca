"""A page with the camera component alone, for the browser tests: it shows what the component
returned (the parsed photo's size and level), so a test can read it back."""

import io

import streamlit as st
from PIL import Image

from posture.app.capture import camera

view = st.query_params.get("view", "front")
photo = camera(view, key="camera").photo
if photo is None:
    st.write("result: none")
else:
    size = Image.open(io.BytesIO(photo.data)).size
    st.write(f"result: {size[0]}x{size[1]} roll={photo.roll_deg} pitch={photo.pitch_deg} "
             f"overridden={photo.overridden} facing={photo.facing}")
