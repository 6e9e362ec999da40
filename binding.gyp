{
  "targets": [
    {
      "target_name": "lvseg_onednn",
      "sources": [
        "native/addon.cc",
        "native/engine.cc",
        "native/conv.cc",
        "native/matmul.cc",
        "native/elementwise.cc",
        "native/copy.cc",
        "native/normalization.cc",
        "native/entries.cc",
        "native/pool_direct.cc",
        "native/cpu_info.cc",
        "native/conv_direct.cc",
        "native/conv_winograd.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except", "lvseg_onednn_isa"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fopenmp"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    },
    {
      "target_name": "lvseg_onednn_isa",
      "type": "none",
      "actions": [
        {
          "action_name": "record_isa",
          "inputs": ["scripts/native-isa.sh"],
          "outputs": ["<(PRODUCT_DIR)/lvseg_onednn.isa"],
          "action": ["sh", "scripts/native-isa.sh", "<(PRODUCT_DIR)/lvseg_onednn.isa"]
        }
      ]
    }
  ]
}
