// Key Vault in RBAC mode holding the one secret the app needs: the token-encryption key (base64 of 32 bytes).
// The app never sees a vault credential: App Service resolves the @Microsoft.KeyVault(...) app setting with the
// managed identity (keyVaultReferenceIdentity on the site), which holds Key Vault Secrets User.
param name string
param location string
param tags object

@secure()
@description('Base64 of 32 random bytes.')
param tokenEncryptionKey string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7 // no purge protection: `azd down --purge` can free the name for a redeploy
    publicNetworkAccess: 'Enabled'
  }
}

resource tokenEncryptionKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'token-encryption-key'
  properties: {
    value: tokenEncryptionKey
    contentType: 'base64 of 32 bytes; AES-256-GCM master key for upstream tokens at rest'
  }
}

output name string = vault.name
// Versionless URI: the app picks up a rotated value on restart (see "Rotate the token-encryption key" in the README).
output tokenEncryptionKeyUri string = tokenEncryptionKeySecret.properties.secretUri
