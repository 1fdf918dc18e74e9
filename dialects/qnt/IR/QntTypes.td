// The !qnt.packed type: a tensor of packed low-bit codes with its scheme.
#ifndef QNT_TYPES_TD
#define QNT_TYPES_TD

include "qnt/IR/QntAttrs.td"

def Qnt_PackedType : TypeDef<Qnt_Dialect, "Packed"> {
  let mnemonic = "packed";
  let summary = "A packed quantized tensor: logical shape and scheme";
  let description = [{
    The logical shape is the shape of the tensor the codes stand for; the
    storage is packed codes (rows along the last dimension, see
    docs/BIT_LAYOUT.md) plus scales and, for asymmetric schemes, zero points.

    A kernel's copy of a weight names its code layout third (a
    `#qnt.layout`, made by qnt-select-kernels); the shapes of its codes,
    scales and zero points follow from it.

    ```
    !qnt.packed<4096x11008, #qnt.scheme<si4, symmetric, per_group<1, 128>>>
    !qnt.packed<4096x11008, #qnt.scheme<si4, symmetric, per_group<1, 32>>,
                #qnt.layout<column_tiles, lanes = 16>>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t", "logical shape">:$shape,
    "::mlir::qnt::SchemeAttr":$scheme,
    OptionalParameter<"::mlir::qnt::CodeLayoutAttr">:$layout);
  let builders = [
    TypeBuilder<(ins "::llvm::ArrayRef<int64_t>":$shape,
                     "::mlir::qnt::SchemeAttr":$scheme), [{
      return $_get($_ctxt, shape, scheme, CodeLayoutAttr());
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRank() const { return getShape().size(); }
    /// Shape of the packed code bytes: the logical shape with the last
    /// dimension replaced by its packed byte count.
    ::llvm::SmallVector<int64_t> getCodesShape() const;
    /// Shape of the scales (and zero points): same rank as the tensor, 1
    /// where a scale is shared, the number of scales along the scaled axis.
    ::llvm::SmallVector<int64_t> getScalesShape() const;
    /// Column tiles of a column_tiles layout: ceil(N / lanes), rounded up
    /// to whole groups of kColumnTilesPerGroup.
    int64_t getColumnTiles() const;
    /// Element type of zero points: i8 for signed codes, ui8 for unsigned.
    ::mlir::IntegerType getZeroPointType() const;
  }];
}

#endif // QNT_TYPES_TD
