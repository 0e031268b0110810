namespace CqrsDapr.CommandService.Products;

/// <summary>Limits of the product's fields, shared by request validation and the database schema.</summary>
internal static class ProductRules
{
    public const int SkuMaxLength = 64;
    public const int NameMaxLength = 200;
    public const int DescriptionMaxLength = 4000;
    public const int CategoryMaxLength = 100;
    public const string SkuUniqueIndex = "ux_products_sku_live";
}
