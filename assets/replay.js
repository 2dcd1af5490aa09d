// The recording replay page's player: hls.js, bundled to app/static/dist/replay.js as a classic script that
// sets window.Hls (load it with a plain <script src>; check Hls.isSupported() and fall back to native HLS).
import Hls from "hls.js";

window.Hls = Hls;
